package chaos

import (
	"context"
	"fmt"
	"os"
	"syscall"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// onlyChaos skips the faults that only make chaos runs (CHAOS set: full, or any value for
// the small sizes while developing).
func onlyChaos(t *testing.T) {
	if os.Getenv("CHAOS") == "" {
		t.Skip("runs in make chaos (CHAOS=full); CHAOS=short runs it small")
	}
}

// TestAPIServerRestart is fault 1: kube-apiserver stops for 10 s while the APIs converge
// and starts again on the same etcd; as soon as it is back, specs change, some APIs go and
// new ones come, before the operator's watches are back.
func TestAPIServerRestart(t *testing.T) {
	onlyChaos(t)
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		p := startPlane(t, set, false)
		s := newScene(t, p, "restart-a", "restart-b")
		op := newOperator(t, p, "operator")
		op.start(t)
		n := sized(1000, 60)
		apis := s.apis("api", n)
		start := time.Now()
		createAll(t, p, apis)
		awaitWrites(t, p, "operator", start, 1)
		p.restartAPIServer(t, 10*time.Second, nil)
		apis = s.churn(t, apis)
		s.listEntries(t, apis)
		s.finish(t, fmt.Sprintf("1 API server restart %s (%d APIs)", set, n), start, 5*time.Minute, op)
	})
}

// TestExpiredWatch is fault 3: while the operator's watches are disconnected (the process
// stopped, the API server restarted), changes are made and etcd is compacted past them; the
// watches' resource versions are then too old, and the changes must still be applied after
// the relist.
func TestExpiredWatch(t *testing.T) {
	onlyChaos(t)
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		p := startPlane(t, set, false)
		s := newScene(t, p, "expired")
		op := newOperator(t, p, "operator")
		op.start(t)
		n := sized(200, 20)
		apis := s.apis("api", n)
		createAll(t, p, apis)
		s.listEntries(t, apis)
		if _, bad := s.await(t, time.Now(), 2*time.Minute); len(bad) > 0 {
			t.Fatalf("not converged before the fault:\n%s", listed(bad, 20))
		}
		start := time.Now()
		op.signal(t, syscall.SIGSTOP)
		// The first restart cuts the operator's watches before anything changes; the second,
		// after the compaction, leaves no watch cache that still holds their resource versions.
		p.restartAPIServer(t, time.Second, nil)
		apis = s.churn(t, apis)
		s.listEntries(t, apis)
		p.compactEtcd(t)
		p.restartAPIServer(t, time.Second, nil)
		resumed := time.Now()
		op.signal(t, syscall.SIGCONT)
		recovered := s.finish(t, fmt.Sprintf("3 expired watch %s (%d APIs)", set, n), start, time.Minute, op)
		relists := p.relists(t, resumed, "exposedapis")
		if relists == 0 {
			t.Errorf("the operator did not list the ExposedAPIs again after its watch expired")
		}
		t.Logf("recovered %v; %d relists of exposedapis after the watch expired", recovered, relists)
	})
}

// apis are n APIs named prefix-i over the scene's namespaces, each on its own path but
// every tenth (i%10 == 3), which claims the route of the one before it and loses it.
func (s *scene) apis(prefix string, n int) []*odav1.ExposedAPI {
	out := make([]*odav1.ExposedAPI, 0, n)
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("%s-%04d", prefix, i)
		path := "/" + name
		if i%10 == 3 {
			path = out[i-1].Spec.Path
		}
		out = append(out, s.api(s.namespaces[i%len(s.namespaces)], name, path))
	}
	return out
}

// churn changes the path of every tenth API, deletes every tenth other and every winner
// of a shared route (its loser must take the route over), and adds a tenth as many new
// ones; it returns the APIs that remain.
func (s *scene) churn(t *testing.T, apis []*odav1.ExposedAPI) []*odav1.ExposedAPI {
	t.Helper()
	ctx := context.Background()
	var kept []*odav1.ExposedAPI
	for i, a := range apis {
		switch i % 10 {
		case 0:
			s.p.UpdateAPI(t, a, func(a *odav1.ExposedAPI) { a.Spec.Path += "-moved" })
		case 1, 2:
			if err := s.p.Client.Delete(ctx, a); client.IgnoreNotFound(err) != nil {
				t.Fatal(err)
			}
			continue
		}
		kept = append(kept, a)
	}
	added := s.apis(fmt.Sprintf("new%d", time.Now().UnixNano()%1000), len(apis)/10)
	createAll(t, s.p, added)
	return append(kept, added...)
}
