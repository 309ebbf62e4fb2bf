package main

import (
	"strings"
	"testing"
	"time"
)

func TestPictureDrawsBothRunsAndTheOtherClient(t *testing.T) {
	s := func(pts ...float64) []sample {
		var out []sample
		for i, v := range pts {
			out = append(out, sample{at: time.Duration(i) * time.Second, value: v})
		}
		return out
	}
	pic := picture{n: 3, operator: s(0, 1, 3), floor: s(0, 2, 3), reads: s(2, 3, 40), writes: s(5, 6, 7),
		idleRead: latency{p50: time.Millisecond, p99: 4 * time.Millisecond}, idleWrt: latency{p99: 9 * time.Millisecond},
		own: s(0, 1, 2, 3), ownReads: s(2, 3), ownWrites: s(4, 5)}
	raw, err := pic.svg()
	if err != nil {
		t.Fatal(err)
	}
	svg := string(raw)
	for _, want := range []string{"<svg", "operator (defaults)", "floor (plain client, 2 writes per API)", "GET namespace", "create/delete ConfigMap", "GET p99, idle plane",
		"operator in its own priority level (chart flowControl)", "the same while the operator runs in its own priority level"} {
		if !strings.Contains(svg, want) {
			t.Errorf("no %q in the SVG", want)
		}
	}
}
