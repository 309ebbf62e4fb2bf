package main

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
)

// headToHead is the operator and the floor started together on the same plane, each on n
// APIs of a namespace of its own: both meet the same moments of the machine, whose speed
// swings by up to two fifths within a minute (two floors 13.6 to 19.0 s, 2026-12-04), so
// the ratio is not the luck of two runs taken one after the other. It shares out what
// either adds to the API server's load (the operator's watches and Component writes slow the
// floor too), which the runs one after another charge to the operator alone.
type headToHead struct {
	rounds []h2hRound
}

// h2hRound is one such run: each side's time from its start, and how many APIs each had
// converged when the first of them finished.
type h2hRound struct {
	operator, floor     time.Duration
	operatorAt, floorAt int
}

func (r h2hRound) ratio() float64 { return r.operator.Seconds() / r.floor.Seconds() }

// median is the round with the median ratio; of an even number the upper middle one, so
// that the figure errs against the operator.
func (h headToHead) median() h2hRound {
	rs := slices.Clone(h.rounds)
	slices.SortFunc(rs, func(a, b h2hRound) int { return cmp.Compare(a.ratio(), b.ratio()) })
	return rs[len(rs)/2]
}

// h2hRoundsAt is how many head-to-head rounds run at n: none where --head-to-head does not
// name it, at most one at the fairness size (a second there would take make bench past 15
// minutes on two cores).
func (c config) h2hRoundsAt(n int) int {
	switch {
	case !slices.Contains(c.h2hSizes, n):
		return 0
	case n == c.fairnessN:
		return min(c.h2hRounds, 1)
	}
	return c.h2hRounds
}

// secondNamespace holds the same fixtures as ns for the runs that need a namespace of their
// own beside it: the head-to-head floor's, and the wide floor after the operator's run.
func secondNamespace(ns string) string { return ns + "-b" }

// timeHeadToHead runs rounds rounds beside apis: the operator converges one namespace while
// the floor writes the other, the two swapping each round. The second namespace's objects
// are deleted after, so that the figures after it see the plane as before; with keep its
// APIs are left as the fixtures made them instead and returned, for floorsAround.
func timeHeadToHead(ctx context.Context, p *plane, c config, apis []*odav1.ExposedAPI, rounds int, keep bool) (headToHead, []*odav1.ExposedAPI, error) {
	n, ns := len(apis), secondNamespace(apis[0].Namespace)
	say("N=%d: head to head, the operator and the floor started together (rounds: %d)", n, rounds)
	other, err := fixtures(ctx, p, ns, n)
	if err != nil {
		return headToHead{}, nil, err
	}
	var h headToHead
	for r := range rounds {
		mine, floors := apis, other
		if r%2 == 1 {
			mine, floors = other, apis
		}
		spare := "" // the last round's writes in ns go with it
		if r == rounds-1 && !keep {
			spare = ns
		}
		round, err := h2hOnce(ctx, p, c, mine, floors, spare)
		if err != nil {
			return h, nil, err
		}
		say("N=%d: head to head in %s: operator %s, floor %s: %.2fx; when the first finished, %d and %d APIs converged",
			n, mine[0].Namespace, secs(round.operator), secs(round.floor), round.ratio(), round.operatorAt, round.floorAt)
		h.rounds = append(h.rounds, round)
	}
	if keep {
		return h, other, nil
	}
	return h, nil, removeFixtures(ctx, p, other)
}

// h2hOnce times the operator on mine and the floor on floors, started together, and undoes
// what both wrote but in namespace spare, which is to be deleted whole.
func h2hOnce(ctx context.Context, p *plane, c config, mine, floors []*odav1.ExposedAPI, spare string) (h2hRound, error) {
	if err := p.settle(ctx); err != nil {
		return h2hRound{}, err
	}
	plain := floorWrites{name: "floor"}
	done := &counter{series: newSeries(time.Now())}
	var wg sync.WaitGroup
	var floorTime time.Duration
	var floorEnd time.Time // floorTime counts from after its watch synced, done from before
	var floorErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		floorTime, floorErr = watchedFloor(ctx, p, plain, floors, done)
		floorEnd = time.Now()
	}()
	progress := newSeries(time.Now())
	conv, err := operatorRun(ctx, p, c, mine[0].Namespace, len(mine), progress, operatorProfile{}, strings.Fields(c.operatorFlags)...)
	wg.Wait()
	if err = cmp.Or(err, floorErr); err != nil {
		return h2hRound{}, err
	}
	round := h2hRound{operator: conv.operator, floor: floorTime}
	first := min(progress.start.Add(conv.operator).UnixNano(), floorEnd.UnixNano())
	round.operatorAt = int(progress.valueAt(time.Duration(first - progress.start.UnixNano())))
	round.floorAt = int(done.valueAt(time.Duration(first - done.start.UnixNano())))
	if mine[0].Namespace != spare {
		if err := resetOperator(ctx, p, mine); err != nil {
			return round, err
		}
	}
	if floors[0].Namespace == spare {
		return round, nil
	}
	return round, removeFloor(ctx, p, plain, floors)
}

// removeFixtures deletes what fixtures made for apis (their Services, EndpointSlices, the
// APIs and their Component) and the VirtualServices written for them.
func removeFixtures(ctx context.Context, p *plane, apis []*odav1.ExposedAPI) error {
	ns := client.InNamespace(apis[0].Namespace)
	kinds := []client.Object{&odav1.ExposedAPI{}, &networkingv1.VirtualService{}, &discoveryv1.EndpointSlice{}, &odav1.Component{}}
	// The collections' deletes beside the Services' (which serve no delete of a
	// collection): the API server deletes a collection's items one by one.
	return parallel(len(kinds)+len(apis), 16, func(i int) error {
		if i < len(kinds) {
			return p.admin.DeleteAllOf(ctx, kinds[i], ns)
		}
		api := apis[i-len(kinds)]
		return client.IgnoreNotFound(p.admin.Delete(ctx, &corev1.Service{ObjectMeta: objectMeta(api.Namespace, api.Name)}))
	})
}

// h2hRows are the head-to-head figures of cv, if it has them.
func h2hRows(t *tableWriter, cv convergence) {
	if len(cv.h2h.rounds) == 0 {
		return
	}
	m := cv.h2h.median()
	target, met := "-", (*bool)(nil)
	if cv.n == 1000 || cv.n == 5000 {
		target, met = "<= 1.2x floor", check(m.ratio() <= 1.2)
	}
	rs := make([]float64, len(cv.h2h.rounds))
	for i, r := range cv.h2h.rounds {
		rs[i] = r.ratio()
	}
	rounds, each := "one round", ""
	if len(rs) > 1 {
		rounds, each = fmt.Sprintf("median of %d rounds, the namespaces swapped", len(rs)), fmt.Sprintf(" (rounds %s)", ratios(rs))
	}
	t.row(fmt.Sprintf("N=%d head to head: operator / floor started together on the same plane, each on %d APIs of its own namespace (%s)",
		cv.n, cv.n, rounds),
		fmt.Sprintf("%s / %s: **%.2fx**%s; when the first finished: operator %d, floor %d APIs converged",
			secs(m.operator), secs(m.floor), m.ratio(), each, m.operatorAt, m.floorAt), target, met)
}
