package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// TestManyWayRace is fault 5: many ExposedAPIs in several namespaces claim one route with
// no webhook to refuse them, while the operator is SIGKILLed at random moments. Every round
// ends with one route, the deterministic winner's, and the others told who won.
func TestManyWayRace(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		p := startPlane(t, set, false)
		namespaces := []string{"race-a", "race-b", "race-c", "race-d", "race-e"}
		s := newScene(t, p, namespaces...)
		s.listEntries(t, nil)
		op := newOperator(t, p, "operator")
		op.start(t)
		rounds, perRound := sized(10, 3), sized(50, 20)
		var all []*odav1.ExposedAPI
		for round := 0; round < rounds; round++ {
			start := time.Now()
			apis := raceAPIs(s, round, perRound)
			killWhile(t, op, func() { createAll(t, p, apis) })
			all = append(all, apis...)
			s.listEntries(t, all)
			if !op.running() {
				op.start(t)
			}
			s.idle = 0 // the idle window is watched once, after the last round
			if round == rounds-1 {
				s.idle = idle
			}
			if !s.finish(t, fmt.Sprintf("5 race %s round %d (%d APIs)", set, round+1, perRound), start, 2*time.Minute, op) {
				return
			}
		}
	})
}

// raceAPIs are n APIs spread over the namespaces, in a random order, all on one path.
func raceAPIs(s *scene, round, n int) []*odav1.ExposedAPI {
	var out []*odav1.ExposedAPI
	for i := 0; i < n; i++ {
		ns := s.namespaces[i%len(s.namespaces)]
		out = append(out, s.api(ns, fmt.Sprintf("race-%d-%02d", round, i), fmt.Sprintf("/race-%d", round)))
	}
	rand.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// createAll creates the objects from four clients at once.
func createAll(t *testing.T, p *plane, apis []*odav1.ExposedAPI) {
	t.Helper()
	var wg sync.WaitGroup
	next := make(chan *odav1.ExposedAPI)
	errs := make(chan error, len(apis))
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for a := range next {
				if err := p.Client.Create(context.Background(), a); err != nil {
					errs <- fmt.Errorf("creating %s/%s: %w", a.Namespace, a.Name, err)
				}
			}
		}()
	}
	for _, a := range apis {
		next <- a
	}
	close(next)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// killWhile runs work while SIGKILLing the operator at random moments (every 0.2 to 1.5 s)
// and starting it again, and once more at a random moment just after work.
func killWhile(t *testing.T, op *operator, work func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { work(); close(done) }()
	for {
		select {
		case <-done:
			time.Sleep(time.Duration(rand.IntN(1500)) * time.Millisecond)
			op.kill()
			op.start(t)
			return
		case <-time.After(time.Duration(200+rand.IntN(1300)) * time.Millisecond):
			op.kill()
			op.start(t)
		}
	}
}
