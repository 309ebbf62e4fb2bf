package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/oda-canvas/api-operator-istio/internal/app"
)

// otherClient does what a person and other controllers do while the operator works: a GET
// of a namespace every 100 ms, and a create and delete of an unrelated ConfigMap every
// 200 ms. It runs as another service account, in the operator's own priority level.
type otherClient struct {
	reads, writes *series // latency in ms
	mu            sync.Mutex
	errs          []error
	stop          context.CancelFunc
	wg            sync.WaitGroup
}

// other is what the other client saw.
type other struct {
	reads, writes  latency
	readS, writeS  []sample
	requests, errs int
}

const otherNamespace = "other-client"

// otherRuns counts the other client's runs.
var otherRuns atomic.Int64

func startOther(ctx context.Context, p *plane, start time.Time) (*otherClient, error) {
	cl, err := client.New(p.other, client.Options{Scheme: app.Scheme()})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	o := &otherClient{reads: newSeries(start), writes: newSeries(start), stop: cancel}
	o.every(ctx, 100*time.Millisecond, func(int) {
		o.timed(ctx, o.reads, func() error { return cl.Get(ctx, client.ObjectKey{Name: otherNamespace}, &corev1.Namespace{}) })
	})
	// A create cut short by the end of a run may still have been made, and its delete never
	// sent: each run names its ConfigMaps apart, so that the next one's never already exist.
	run := otherRuns.Add(1)
	o.every(ctx, 200*time.Millisecond, func(i int) {
		cm := &corev1.ConfigMap{ObjectMeta: objectMeta(otherNamespace, fmt.Sprintf("note-%d-%d", run, i)), Data: map[string]string{"note": "hello"}}
		if o.timed(ctx, o.writes, func() error { return cl.Create(ctx, cm) }) {
			o.timed(ctx, o.writes, func() error { return cl.Delete(ctx, cm) })
		}
	})
	return o, nil
}

func (o *otherClient) every(ctx context.Context, d time.Duration, fn func(i int)) {
	o.wg.Add(1)
	go func() {
		defer o.wg.Done()
		t := time.NewTicker(d)
		defer t.Stop()
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				fn(i)
			}
		}
	}()
}

// timed records fn's latency, or its error (a request cut short by the end of the run is
// neither), and says whether it succeeded.
func (o *otherClient) timed(ctx context.Context, s *series, fn func() error) bool {
	start := time.Now()
	err := fn()
	switch {
	case err == nil:
		s.add(start, float64(time.Since(start))/float64(time.Millisecond))
		return true
	case ctx.Err() == nil:
		o.mu.Lock()
		o.errs = append(o.errs, err)
		o.mu.Unlock()
	}
	return false
}

// besideOther converges the APIs of ns, fixtures made, with the operator started with args
// and the other client running throughout: what it saw, and the APIs converged over time.
// The CPU profiles stay the default run's.
func besideOther(ctx context.Context, p *plane, c config, ns string, n int, args ...string) (convergence, other, []sample, error) {
	if err := p.settle(ctx); err != nil {
		return convergence{}, other{}, nil, err
	}
	progress := newSeries(time.Now())
	o, err := startOther(ctx, p, progress.start)
	if err != nil {
		return convergence{}, other{}, nil, err
	}
	conv, err := operatorRun(ctx, p, c, ns, n, progress, operatorProfile{}, args...)
	return conv, o.finish(), progress.all(), err
}

// finish stops the client and sums up what it saw.
func (o *otherClient) finish() other {
	o.stop()
	o.wg.Wait()
	for i, err := range o.errs {
		if i == 3 {
			say("other client: %d more errors", len(o.errs)-i)
			break
		}
		say("other client: %v", err)
	}
	r, w := o.reads.all(), o.writes.all()
	return other{reads: percentiles(durations(r)), writes: percentiles(durations(w)), readS: r, writeS: w,
		requests: len(r) + len(w), errs: len(o.errs)}
}

func durations(s []sample) []time.Duration {
	out := make([]time.Duration, len(s))
	for i, x := range s {
		out[i] = time.Duration(x.value * float64(time.Millisecond))
	}
	return out
}

// quieter is the other client's idle baseline from two windows on the idle plane: for each
// kind of request the window with the lower p99, its requests and errors those of both. A
// 20 s window's p99 is its third-slowest GET, so one busy moment of a shared machine in it
// could put the baseline at twice its usual tail and a loaded run within 3x of it.
func quieter(a, b other) other {
	q := other{reads: a.reads, readS: a.readS, writes: a.writes, writeS: a.writeS, requests: a.requests + b.requests, errs: a.errs + b.errs}
	if b.reads.p99 < a.reads.p99 {
		q.reads, q.readS = b.reads, b.readS
	}
	if b.writes.p99 < a.writes.p99 {
		q.writes, q.writeS = b.writes, b.writeS
	}
	return q
}
