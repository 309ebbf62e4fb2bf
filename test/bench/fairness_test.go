package main

import (
	"testing"
	"time"
)

func TestQuieterTakesEachKindsLowerTail(t *testing.T) {
	ms := func(p50, p99 int) latency {
		return latency{p50: time.Duration(p50) * time.Millisecond, p99: time.Duration(p99) * time.Millisecond}
	}
	first := other{reads: ms(3, 108), writes: ms(5, 20), readS: []sample{{value: 108}}, writeS: []sample{{value: 20}}, requests: 300, errs: 1}
	again := other{reads: ms(4, 30), writes: ms(4, 25), readS: []sample{{value: 30}}, writeS: []sample{{value: 25}}, requests: 290}
	q := quieter(first, again)
	if q.reads != again.reads || q.readS[0].value != 30 {
		t.Errorf("reads %+v, want the second window's %+v", q.reads, again.reads)
	}
	if q.writes != first.writes || q.writeS[0].value != 20 {
		t.Errorf("writes %+v, want the first window's %+v", q.writes, first.writes)
	}
	if q.requests != 590 || q.errs != 1 {
		t.Errorf("requests %d errors %d, want both windows': 590 and 1", q.requests, q.errs)
	}
	if q := quieter(first, first); q.reads != first.reads || q.writes != first.writes {
		t.Errorf("two equal windows gave %+v", q)
	}
}
