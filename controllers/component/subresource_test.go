package component_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/controllers/component"
	"github.com/oda-canvas/api-operator-istio/controllers/statuswrite"
	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// TestEntryWrittenAfterTheCRDLosesStatus: the Component CRD stops serving /status (the
// canvas's replaces ours) after the writer looked. The API server answers the status
// patch 404 although the Component exists; the change is tried again, through the object,
// rather than taken for a Component that is gone.
func TestEntryWrittenAfterTheCRDLosesStatus(t *testing.T) {
	ctx := t.Context()
	env := harness.Start(t, harness.Generated)
	ns := env.Namespace(t, "components")
	comp, api := componentWithAPI(t, env, ns)

	w := statuswrite.New(env.Client, discovery.NewDiscoveryClientForConfigOrDie(env.Config))
	has, err := w.HasSubresource(comp)
	require.NoError(t, err)
	require.True(t, has)
	env.SetStatusSubresource(t, "components", false)

	mgr, err := ctrl.NewManager(env.Config, ctrl.Options{Scheme: env.Client.Scheme(), Metrics: metricsserver.Options{BindAddress: "0"}})
	require.NoError(t, err)
	r, err := component.NewWithoutController(ctx, mgr, w)
	require.NoError(t, err)
	go func() { _ = mgr.Start(ctx) }()
	require.True(t, mgr.GetCache().WaitForCacheSync(ctx))
	req := ctrl.Request{NamespacedName: client.ObjectKeyFromObject(comp)}
	harness.Eventually(t, "the cache to hold the API", func() error {
		return mgr.GetClient().Get(ctx, client.ObjectKeyFromObject(api), &odav1.ExposedAPI{})
	})

	res, err := r.Reconcile(ctx, req)
	require.NoError(t, err)
	require.False(t, res.IsZero(), "the entry is not written yet: the Component is queued again")
	_, err = r.Reconcile(ctx, req)
	require.NoError(t, err)
	got := &odav1.Component{}
	require.NoError(t, env.Client.Get(ctx, client.ObjectKeyFromObject(comp), got))
	require.Len(t, got.Status.CoreAPIs, 1)
	assert.Equal(t, "https://20.0.0.1/a", got.Status.CoreAPIs[0].URL)
	assert.True(t, got.Status.CoreAPIs[0].Ready)
}

// componentWithAPI makes a Component whose status lists one API, and that API with the
// status the ExposedAPI controller would have written.
func componentWithAPI(t *testing.T, env *harness.Env, ns string) (*odav1.Component, *odav1.ExposedAPI) {
	ctx := context.Background()
	comp := &odav1.Component{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "shop"}}
	require.NoError(t, env.Client.Create(ctx, comp))
	api := harness.API(ns, "a", "/a", "impl", 8080)
	api.OwnerReferences = []metav1.OwnerReference{{APIVersion: odav1.GroupVersion.String(), Kind: "Component", Name: comp.Name, UID: comp.UID}}
	require.NoError(t, env.Client.Create(ctx, api))
	api.Status.APIStatus = &odav1.APIStatus{Name: "a", URL: "https://20.0.0.1/a"}
	api.Status.Implementation = &odav1.ImplementationStatus{Ready: true}
	require.NoError(t, env.Client.Status().Update(ctx, api))
	comp.Status.CoreAPIs = []odav1.ComponentAPIStatus{{Name: "a", UID: string(api.UID)}}
	require.NoError(t, env.Client.Status().Update(ctx, comp))
	return comp, api
}
