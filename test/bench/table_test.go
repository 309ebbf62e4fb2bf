package main

import (
	"strings"
	"testing"
	"time"
)

func TestTableTargets(t *testing.T) {
	ms := time.Millisecond
	r := &result{
		conv: []convergence{
			{n: 500, operator: 5 * time.Second, floor: 4 * time.Second},
			{n: 1000, operator: 11 * time.Second, floor: 10 * time.Second, floorEvents: 15 * time.Second, rounds: 3, roundRatios: []float64{1.1, 1.254, 0.98}},
			{n: 5000, operator: 65 * time.Second, floor: 50 * time.Second},
		},
		fairness: fairness{n: 5000, idle: other{reads: latency{2 * ms, 10 * ms}, writes: latency{5 * ms, 20 * ms}, requests: 300},
			operator: other{reads: latency{3 * ms, 29 * ms}, writes: latency{9 * ms, 61 * ms}, requests: 600, errs: 1}},
		ownLevel: &ownLevel{shares: 1, conv: convergence{n: 5000, operator: 70 * time.Second},
			other: other{reads: latency{3 * ms, 30 * ms}, writes: latency{6 * ms, 60 * ms}, requests: 600}},
		rss: 151 * mib,
		admission: admission{seq: latency{10 * ms, 14 * ms}, seqHook: latency{12 * ms, 30 * ms},
			busy: latency{10 * ms, 20 * ms}, busyHook: latency{16 * ms, 45 * ms}},
	}
	got := r.table(config{extraPods: 5000, admissionCreates: 300, concurrency: 8, idle: time.Minute})
	for _, want := range []string{
		"| convergence N=1000: operator (defaults) / floor (medians of 3 rounds) | 11.0 s (91 APIs/s) / 10.0 s: **1.10x** | <= 1.2x floor | yes |",
		"| N=1000: each round, the operator over that round's own floor | 1.10x, 1.25x, 0.98x | - | - |",
		"| convergence N=5000: operator (defaults) / floor | 65.0 s (77 APIs/s) / 50.0 s: **1.30x** | <= 1.2x floor | **no** |",
		"| convergence N=500: operator (defaults) / floor | 5.0 s (100 APIs/s) / 4.0 s: **1.25x** | - | - |",
		"| N=1000: the floor with an Event per API (3 writes) | 15.0 s: 1.50x the 2-write floor | - | - |",
		"| scaling time(5000)/time(500): operator (the floor's own) | 13.00 (12.50) | <= 11 | **no** |",
		"p99 10.0 ms / 0.0 ms / **29.0 ms (2.90x idle)** | p99 <= 3x idle | yes |",
		"p99 20.0 ms / 0.0 ms / **61.0 ms (3.05x idle)** | p99 <= 3x idle | **no** |",
		"| 300/0, 0/0, 600/1 | no errors | **no** |",
		"6500 APIs, all namespaces); peak; Go heap | 151 MiB; 0 MiB; 0 MiB | <= 150 MiB | **no** |",
		"| convergence N=5000 with the chart's flowControl (own priority level, nominalConcurrencyShares 1): operator / floor | 70.0 s / 50.0 s: 1.40x | - | - |",
		"| other client, GET namespace, while the operator converges in its own priority level | p50 3.0 ms; p99 **30.0 ms (3.00x idle)** | p99 <= 3x idle | yes |",
		"| other client, ConfigMap create+delete, while the operator converges in its own priority level | p50 6.0 ms; p99 **60.0 ms (3.00x idle)** | p99 <= 3x idle | yes |",
		"| **added by the webhooks, one after another** | p50 2.0 ms, p99 16.0 ms | p50 <= 5 ms, p99 <= 20 ms | yes |",
		"| added by the webhooks then | p50 6.0 ms, p99 25.0 ms | - | - |",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in\n%s", want, got)
		}
	}
}

func TestTableSaysWhichOperatorFlags(t *testing.T) {
	r := &result{conv: []convergence{{n: 500, operator: 5 * time.Second, floor: 4 * time.Second}}}
	assert := func(c config, want string) {
		t.Helper()
		if got := r.table(c); !strings.Contains(got, want) {
			t.Errorf("missing %q in\n%s", want, got)
		}
	}
	assert(config{}, "The operator runs with its default settings (no client-side rate limit) as a service account")
	assert(config{operatorFlags: "--max-concurrent-reconciles=64"}, "The operator runs with its default settings and --max-concurrent-reconciles=64 as")
}

func TestMedianRunKeepsEachRoundsRatio(t *testing.T) {
	s := time.Second
	got := medianRun([]convergence{
		{operator: 12 * s, floor16: 10 * s, floor64: 8 * s, floor: 8 * s},
		{operator: 9 * s, floor16: 9 * s, floor64: 10 * s, floor: 9 * s},
		{operator: 11 * s, floor16: 11 * s, floor64: 12 * s, floor: 11 * s},
	})
	if got.operator != 11*s || got.floor16 != 10*s || got.floor64 != 10*s || got.floor != 10*s || got.rounds != 3 {
		t.Errorf("medians: got operator %s, floors %s / %s, floor %s, rounds %d", got.operator, got.floor16, got.floor64, got.floor, got.rounds)
	}
	if want := "1.50x, 1.00x, 1.00x"; ratios(got.roundRatios) != want {
		t.Errorf("round ratios: got %s, want %s", ratios(got.roundRatios), want)
	}
}

func TestHeadToHeadRow(t *testing.T) {
	s := time.Second
	h := headToHead{rounds: []h2hRound{
		{operator: 15 * s, floor: 10 * s, operatorAt: 700, floorAt: 1000},
		{operator: 11 * s, floor: 10 * s, operatorAt: 950, floorAt: 1000},
		{operator: 9 * s, floor: 10 * s, operatorAt: 1000, floorAt: 930},
	}}
	r := &result{conv: []convergence{{n: 1000, operator: 11 * s, floor: 10 * s, h2h: h}}}
	want := "| N=1000 head to head: operator / floor started together on the same plane, each on 1000 APIs of its own namespace " +
		"(median of 3 rounds, the namespaces swapped) | 11.0 s / 10.0 s: **1.10x** (rounds 1.50x, 1.10x, 0.90x); " +
		"when the first finished: operator 950, floor 1000 APIs converged | <= 1.2x floor | yes |"
	if got := r.table(config{}); !strings.Contains(got, want) {
		t.Errorf("missing %q in\n%s", want, got)
	}
	h.rounds = h.rounds[1:]
	if got := h.median().ratio(); got != 1.1 {
		t.Errorf("the median of rounds 1.10x and 0.90x: got %.2fx, want the upper, 1.10x", got)
	}
	h.rounds = []h2hRound{{operator: 15 * s, floor: 10 * s, operatorAt: 700, floorAt: 1000}}
	r.conv[0].h2h = h
	r.conv[0].n = 5000
	want = "| N=5000 head to head: operator / floor started together on the same plane, each on 5000 APIs of its own namespace (one round) | " +
		"15.0 s / 10.0 s: **1.50x**; when the first finished: operator 700, floor 1000 APIs converged | <= 1.2x floor | **no** |"
	if got := r.table(config{}); !strings.Contains(got, want) {
		t.Errorf("a slow single round at N=5000: missing %q in\n%s", want, got)
	}
	r.conv[0].h2h = headToHead{}
	if got := r.table(config{}); strings.Contains(got, "head to head") {
		t.Errorf("a head-to-head row without rounds:\n%s", got)
	}
}

func TestSeriesValueAt(t *testing.T) {
	start := time.Now()
	s := newSeries(start)
	s.add(start.Add(2*time.Second), 20)
	s.add(start.Add(time.Second), 10)
	for at, want := range map[time.Duration]float64{0: 0, time.Second: 10, 1500 * time.Millisecond: 10, 3 * time.Second: 20} {
		if got := s.valueAt(at); got != want {
			t.Errorf("valueAt(%s) = %v, want %v", at, got, want)
		}
	}
}

func TestFloorRowSaysWhenTheWideFloorRanAfter(t *testing.T) {
	s := time.Second
	r := &result{conv: []convergence{{n: 5000, operator: 40 * s, floor16: 35 * s, floor64: 30 * s, floor: 30 * s}}}
	before := "| N=5000: the floor with 16 / 64 APIs in flight (the faster is the floor above) | 35.0 s / 30.0 s |"
	if got := r.table(config{}); !strings.Contains(got, before) {
		t.Errorf("missing %q in\n%s", before, got)
	}
	r.conv[0].wideAfter = true
	after := "| N=5000: the floor with 16 / 64 APIs in flight (the faster is the floor above; the 16 before the operator's run, " +
		"the 64 after it, on as many APIs of a namespace of their own) | 35.0 s / 30.0 s |"
	if got := r.table(config{}); !strings.Contains(got, after) {
		t.Errorf("missing %q in\n%s", after, got)
	}
}

func TestBusyAdmissionRowsOnlyWhenRun(t *testing.T) {
	ms := time.Millisecond
	r := &result{admission: admission{seq: latency{10 * ms, 14 * ms}, seqHook: latency{12 * ms, 30 * ms}}}
	if got := r.table(config{}); strings.Contains(got, "the replica the leader") || strings.Contains(got, "added by the webhooks then") {
		t.Errorf("rows of a run without --admission-busy:\n%s", got)
	}
	r.admission.busy, r.admission.busyHook = latency{10 * ms, 20 * ms}, latency{16 * ms, 45 * ms}
	if got := r.table(config{}); !strings.Contains(got, "| added by the webhooks then | p50 6.0 ms, p99 25.0 ms |") {
		t.Errorf("no busy rows with --admission-busy:\n%s", got)
	}
}
