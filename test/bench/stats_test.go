package main

import (
	"testing"
	"time"
)

func TestPercentiles(t *testing.T) {
	ms := func(xs ...int) []time.Duration {
		out := make([]time.Duration, len(xs))
		for i, x := range xs {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = 100 - i // 100 ... 1, unsorted
	}
	for name, c := range map[string]struct {
		in       []time.Duration
		p50, p99 time.Duration
	}{
		"none":     {nil, 0, 0},
		"one":      {ms(7), 7 * time.Millisecond, 7 * time.Millisecond},
		"two":      {ms(9, 1), 1 * time.Millisecond, 9 * time.Millisecond},
		"hundred":  {ms(hundred...), 50 * time.Millisecond, 99 * time.Millisecond},
		"one slow": {append(ms(hundred[1:]...), time.Second), 50 * time.Millisecond, 99 * time.Millisecond},
	} {
		got := percentiles(c.in)
		if got.p50 != c.p50 || got.p99 != c.p99 {
			t.Errorf("%s: p50 %v p99 %v, want %v %v", name, got.p50, got.p99, c.p50, c.p99)
		}
	}
}

func TestPercentilesLeaveTheInputAlone(t *testing.T) {
	in := []time.Duration{3, 1, 2}
	percentiles(in)
	if in[0] != 3 || in[1] != 1 || in[2] != 2 {
		t.Errorf("input reordered: %v", in)
	}
}

func TestCounterSeries(t *testing.T) {
	c := &counter{series: newSeries(time.Now())}
	c.inc()
	c.inc()
	got := c.all()
	if len(got) != 2 || got[0].at > got[1].at || got[0].value != 1 || got[1].value != 2 {
		t.Errorf("samples %v", got)
	}
}
