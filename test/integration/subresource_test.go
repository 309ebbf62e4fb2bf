package integration

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/client-go/discovery"
	"sigs.k8s.io/controller-runtime/pkg/client"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/controllers/statuswrite"
	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// TestStatusFollowsTheCRDsSubresource: while the operator runs, the canvas's ExposedAPI CRD
// (no status subresource) is changed to serve /status, as installing ours with
// crds.install does, and back: each way, an API's status keeps following its gateway's
// address.
func TestStatusFollowsTheCRDsSubresource(t *testing.T) {
	ctx := context.Background()
	env := harness.Start(t, harness.ODA)
	ns := env.Namespace(t, "components")
	env.Implementation(t, ns, "impl", 8080, true)
	env.Gateway(t, "20.0.0.1", "")
	api := harness.API(ns, "api", "/api", "impl", 8080)
	harness.StartOperator(t, env, harness.DefaultOptions())
	require.NoError(t, env.Client.Create(ctx, api))
	waitAPIStatus(t, env, api, wantStatus{"https://20.0.0.1/api", "", "20.0.0.1"}, "Ready")
	for i, serves := range []bool{true, false} {
		env.SetStatusSubresource(t, "exposedapis", serves)
		ip := fmt.Sprintf("20.0.0.%d", i+2)
		env.Gateway(t, ip, "")
		waitAPIStatus(t, env, api, wantStatus{"https://" + ip + "/api", "", ip}, "Ready")
	}
}

// TestStatusWriterNoticesANewSubresource: a Writer whose look at the CRD came before it
// gained /status (a look that raced the change) does not take a status write through the
// object for done, since the API server stored nothing: it says so and looks again, and
// the next write is stored.
func TestStatusWriterNoticesANewSubresource(t *testing.T) {
	ctx := context.Background()
	env := harness.Start(t, harness.ODA)
	ns := env.Namespace(t, "components")
	api := harness.API(ns, "api", "/api", "impl", 8080)
	require.NoError(t, env.Client.Create(ctx, api))
	w := statuswrite.New(env.Client, discovery.NewDiscoveryClientForConfigOrDie(env.Config))
	has, err := w.HasSubresource(api)
	require.NoError(t, err)
	require.False(t, has)

	env.SetStatusSubresource(t, "exposedapis", true)
	write := func() error {
		next := api.DeepCopy()
		next.Status.Implementation = &odav1.ImplementationStatus{Ready: true}
		return w.Patch(ctx, next, client.MergeFrom(api))
	}
	require.ErrorContains(t, write(), "its CRD may serve /status now; looking again")
	require.NoError(t, write())
	got := &odav1.ExposedAPI{}
	require.NoError(t, env.Client.Get(ctx, client.ObjectKeyFromObject(api), got))
	require.NotNil(t, got.Status.Implementation)
	assert.True(t, got.Status.Implementation.Ready)
}
