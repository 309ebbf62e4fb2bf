package main

import (
	"testing"
)

func TestHistogramQuantile(t *testing.T) {
	b := []bucket{{le: 0.0001, count: 90}, {le: 0.001, count: 99}, {le: 0.01, count: 100}}
	for q, want := range map[float64]string{0.5: "<= 100µs", 0.99: "<= 1ms", 1: "<= 10ms"} {
		if got := histogramQuantile(b, q); got != want {
			t.Errorf("q %v: %q, want %q", q, got, want)
		}
	}
	if got := histogramQuantile(nil, 0.99); got != "no requests" {
		t.Errorf("none: %q", got)
	}
}

func TestSubtractBuckets(t *testing.T) {
	got := subtract([]bucket{{le: 1, count: 10}, {le: 2, count: 30}}, []bucket{{le: 1, count: 4}, {le: 2, count: 5}})
	if got[0].count != 6 || got[1].count != 25 {
		t.Errorf("%v", got)
	}
}

func TestLabel(t *testing.T) {
	l := `{webhook="/validate",le="0.001"}`
	if v, ok := label(l, "le"); !ok || v != "0.001" {
		t.Errorf("le: %q %v", v, ok)
	}
	if _, ok := label(`{xle="1"}`, "le"); ok {
		t.Error("matched a label that only ends in le")
	}
}

func TestCountConnections(t *testing.T) {
	// Port 9443 is 24E3. Server end established, a server TIME_WAIT, a client TIME_WAIT, a
	// client end of the established one (not counted twice), and another port.
	table := `  sl  local_address rem_address   st tx_queue rx_queue
   0: 0100007F:24E3 0100007F:A001 01 00000000:00000000 00:00000000 00000000     0
   1: 0100007F:24E3 0100007F:A002 06 00000000:00000000 00:00000000 00000000     0
   2: 0100007F:A003 0100007F:24E3 06 00000000:00000000 00:00000000 00000000     0
   3: 0100007F:A001 0100007F:24E3 01 00000000:00000000 00:00000000 00000000     0
   4: 0100007F:1F90 0100007F:A004 01 00000000:00000000 00:00000000 00000000     0
`
	out := map[string]int{}
	countConnections(table, 9443, out)
	if out["ESTABLISHED"] != 1 || out["TIME_WAIT"] != 2 || len(out) != 2 {
		t.Errorf("%v", out)
	}
}

func TestBucketsSummedAndSorted(t *testing.T) {
	byLE := map[float64]float64{}
	addBucket(byLE, `{webhook="/mutate",le="+Inf"}`, 5)
	addBucket(byLE, `{webhook="/validate",le="+Inf"}`, 3)
	addBucket(byLE, `{webhook="/mutate",le="0.001"}`, 4)
	addBucket(byLE, `{webhook="/mutate"}`, 100) // not a bucket
	got := sortedBuckets(byLE)
	if len(got) != 2 || got[0].le != 0.001 || got[0].count != 4 || got[1].count != 8 || got[1].le <= 1e300 {
		t.Errorf("%v", got)
	}
	if q := histogramQuantile(got, 0.99); q != "above the last bucket" {
		t.Errorf("p99 %q", q)
	}
}
