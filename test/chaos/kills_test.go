package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// TestRepeatedKills is fault 6: while many APIs converge the operator is SIGKILLed every
// 3 to 8 s, 10 times, then left to run. Everything converges, with no AlreadyExists loop,
// no orphaned child, and at most one status write per API after the last start.
func TestRepeatedKills(t *testing.T) {
	onlyChaos(t)
	harness.EachCRDSet(t, repeatedKills)
}

func repeatedKills(t *testing.T, set harness.CRDSet) {
	p := startPlane(t, set, false)
	s := newScene(t, p, "kills-a", "kills-b", "kills-c", "kills-d")
	op := newOperator(t, p, "operator")
	op.start(t)
	n, kills := sized(2000, 100), sized(10, 3)
	apis := s.apis("api", n)
	start := time.Now()
	created := make(chan struct{})
	go func() { createAll(t, p, apis); close(created) }()
	var right map[string]bool
	for i := 0; i < kills; i++ {
		time.Sleep(time.Duration(3000+rand.IntN(5000)) * time.Millisecond)
		op.kill()
		if i == kills-1 {
			right = s.statusRight(t)
		}
		op.start(t)
	}
	last := time.Now()
	<-created
	s.listEntries(t, apis)
	s.finish(t, fmt.Sprintf("6 repeated kills %s (%d APIs, %d kills)", set, n, kills), start, 10*time.Minute, op)
	for problem, objects := range afterLastStart(p.writes(t, last), right, set) {
		t.Errorf("after the last start, %s: %s", problem, strings.Join(objects, ", "))
	}
}

// statusRight are the APIs (namespace/name) whose status is already right.
func (s *scene) statusRight(t *testing.T) map[string]bool {
	t.Helper()
	w, err := s.read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	bad, err := s.violations(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, a := range w.apis {
		if _, wrong := bad["ExposedAPI "+a.Namespace+"/"+a.Name]; !wrong && a.Status.Conditions != nil {
			out[a.Namespace+"/"+a.Name] = true
		}
	}
	return out
}

// afterLastStart are the objects written against the rules after the operator's last
// start: a status written that was right already, more than one status write, or more
// than one create refused as existing.
func afterLastStart(writes []write, right map[string]bool, set harness.CRDSet) map[string][]string {
	status, exists := map[string]int{}, map[string]int{}
	out := map[string][]string{}
	for _, w := range writes {
		api, isStatus := statusWrite(w, set)
		switch {
		case isStatus:
			status[api]++
			if right[api] {
				out["status rewritten though it was right"] = append(out["status rewritten though it was right"], api)
			}
		case w.verb == "create" && w.code == 409:
			exists[w.resource+" "+w.object]++
		}
	}
	for obj, n := range status {
		if n > 1 {
			out["more than one status write"] = append(out["more than one status write"], fmt.Sprintf("%s (%d)", obj, n))
		}
	}
	for obj, n := range exists {
		if n > 1 {
			out["creates refused as existing, again and again"] = append(out["creates refused as existing, again and again"], fmt.Sprintf("%s (%d)", obj, n))
		}
	}
	return out
}

// statusWrite tells whether w wrote an ExposedAPI's status, and which API (namespace/name).
// Our CRD has a status subresource; the ODA Canvas's has none, so there status is a write
// to the object itself (the operator writes nothing else there for these APIs: the only
// other one, the metrics finalizer, is for APIs with metrics, which the scene has none of).
func statusWrite(w write, set harness.CRDSet) (string, bool) {
	if w.resource != "exposedapis" || w.verb == "create" || w.verb == "delete" {
		return "", false
	}
	if api, ok := strings.CutSuffix(w.object, "/status"); ok {
		return api, true
	}
	return w.object, set == harness.ODA
}
