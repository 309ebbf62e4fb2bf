package integration

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// TestOneReconcilePerNewAPI: a new API is reconciled about once, not three times. Its VirtualService's
// creation and the echo of its own status write bring nothing to act on, and used to cost a
// reconcile each (three per API while thousands converge).
func TestOneReconcilePerNewAPI(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		ctx := context.Background()
		env := harness.Start(t, set)
		ns := env.Namespace(t, "reconciles")
		env.Gateway(t, "20.0.0.1", "")
		const n = 20
		for i := range n {
			env.Implementation(t, ns, fmt.Sprintf("impl-%d", i), 8080, true)
		}
		harness.StartOperator(t, env, harness.DefaultOptions())
		time.Sleep(time.Second) // the start's own reconciles (the gateway Service's event)
		before := harness.ReconcileCount(t, "exposedapi")

		apis := make([]*odav1.ExposedAPI, n)
		for i := range apis {
			apis[i] = harness.API(ns, fmt.Sprintf("api-%d", i), fmt.Sprintf("/shop/%d", i), fmt.Sprintf("impl-%d", i), 8080)
			require.NoError(t, env.Client.Create(ctx, apis[i]))
		}
		for _, api := range apis {
			waitReady(t, env, api, "https://20.0.0.1"+api.Spec.Path)
		}
		time.Sleep(time.Second) // any reconcile still coming
		got := harness.ReconcileCount(t, "exposedapi") - before
		// Three per API before; a few more than one when an echo outruns the write's response.
		assert.Less(t, got, float64(2*n), "reconciles of %d new APIs", n)
	})
}
