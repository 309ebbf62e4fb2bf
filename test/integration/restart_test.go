package integration

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/controllers/component"
	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// TestRestartWritesNothing: a new operator process over converged APIs (a full resync,
// what a restart or a leader change is) writes nothing at all.
func TestRestartWritesNothing(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		ctx := context.Background()
		env := harness.Start(t, set, harness.ServiceMonitorCRD(t))
		ns := env.Namespace(t, "components")
		env.Gateway(t, "20.0.0.1", "")
		env.Implementation(t, ns, "impl", 8080, true)
		comp := &odav1.Component{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "shop"}}
		require.NoError(t, env.Client.Create(ctx, comp))
		var apis []*odav1.ExposedAPI
		for i := 0; i < 6; i++ {
			api := ownedAPI(ns, fmt.Sprintf("api-%d", i), fmt.Sprintf("/api-%d", i), "impl", odav1.SegmentCore, "shop", comp.UID)
			if i == 5 {
				api.Spec.APIType = odav1.APITypePrometheus
			}
			require.NoError(t, env.Client.Create(ctx, api))
			apis = append(apis, api)
		}
		var entries []any
		for _, a := range apis {
			entries = append(entries, map[string]any{"name": a.Name, "uid": string(a.UID)})
		}
		env.PatchComponentStatus(t, comp, map[string]any{"coreAPIs": entries})
		first := harness.StartOperator(t, env, harness.DefaultOptions())
		for _, a := range apis {
			waitEntry(t, env, ns, "shop", "coreAPIs", a, "https://20.0.0.1"+a.Spec.Path, true)
		}
		assertOneStatusWriteEach(t, first, apis)
		first.Stop()

		before, comps := harness.ReconcileCount(t, "exposedapi"), harness.ReconcileCount(t, "component")
		second := harness.StartOperator(t, env, harness.DefaultOptions())
		harness.Eventually(t, "every API and the Component reconciled again", func() error {
			if n := harness.ReconcileCount(t, "exposedapi") - before; n < float64(len(apis)) {
				return fmt.Errorf("%v API reconciles", n)
			}
			if harness.ReconcileCount(t, "component") == comps {
				return fmt.Errorf("no Component reconcile")
			}
			return nil
		})
		// The Component's write waits for its APIs to be quiet and for the interval since
		// its last write, in requeues that each count a reconcile: a window longer than
		// both with no reconcile of either controller has seen it, if there was one.
		settledReconciles(t, component.Quiet+component.MinInterval+quiet/2, "exposedapi", "component")
		n, paths := second.Requests().Writes()
		assert.Zero(t, n, "writes after a restart: %v", paths)
	})
}

// assertOneStatusWriteEach: converging from nothing, each API's status is written once.
func assertOneStatusWriteEach(t *testing.T, op *harness.Operator, apis []*odav1.ExposedAPI) {
	t.Helper()
	_, writes := op.Requests().Writes()
	for _, a := range apis {
		n := 0
		for _, w := range writes {
			if w == "PATCH /apis/oda.tmforum.org/v1/namespaces/"+a.Namespace+"/exposedapis/"+a.Name+"/status" ||
				w == "PATCH /apis/oda.tmforum.org/v1/namespaces/"+a.Namespace+"/exposedapis/"+a.Name {
				n++
			}
		}
		assert.Equal(t, 1, n, "status writes of %s: %v", a.Name, writes)
	}
}
