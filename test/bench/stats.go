package main

import (
	"slices"
	"sync"
	"time"
)

type latency struct{ p50, p99 time.Duration }

// p99Over is l's p99 as a multiple of idle's.
func (l latency) p99Over(idle latency) float64 { return float64(l.p99) / float64(idle.p99) }

// percentiles are the nearest-rank p50 and p99 of ds (zero for none).
func percentiles(ds []time.Duration) latency {
	if len(ds) == 0 {
		return latency{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return latency{p50: rank(s, 50), p99: rank(s, 99)}
}

// rank is the nearest-rank percentile of sorted s: the smallest value with at least p% of
// the values at or below it.
func rank(s []time.Duration, p int) time.Duration {
	i := (len(s)*p + 99) / 100
	return s[max(i, 1)-1]
}

// sample is one observation at a time since the start of a run.
type sample struct {
	at    time.Duration
	value float64
}

// series collects samples from several goroutines.
type series struct {
	mu      sync.Mutex
	start   time.Time
	samples []sample
}

func newSeries(start time.Time) *series { return &series{start: start} }

func (s *series) add(at time.Time, v float64) {
	s.mu.Lock()
	s.samples = append(s.samples, sample{at: at.Sub(s.start), value: v})
	s.mu.Unlock()
}

func (s *series) all() []sample {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := slices.Clone(s.samples)
	slices.SortFunc(out, func(a, b sample) int { return int(a.at - b.at) })
	return out
}

// counter is a series of a running count: one sample per increment.
type counter struct {
	*series
	n int
}

func (c *counter) inc() {
	c.mu.Lock()
	c.n++
	c.samples = append(c.samples, sample{at: time.Since(c.start), value: float64(c.n)})
	c.mu.Unlock()
}

// valueAt is the series' value at at: its last sample no later than at (0 before the first).
func (s *series) valueAt(at time.Duration) float64 {
	v := 0.0
	for _, smp := range s.all() {
		if smp.at > at {
			break
		}
		v = smp.value
	}
	return v
}

// firstAbove is when the series first went above v (0 if it never did).
func (s *series) firstAbove(v float64) time.Duration {
	for _, smp := range s.all() {
		if smp.value > v {
			return smp.at
		}
	}
	return 0
}
