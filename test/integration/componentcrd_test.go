package integration

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/internal/app"
	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// TestWithoutTheComponentCRD runs the operator as "Running the binary" says, with our
// ExposedAPI CRD and Istio's only. It keeps running past controller-runtime's two minutes
// of cache-sync timeout (it stopped there: the Component watch never synced) and routes
// the APIs; when the Component CRD is installed later, Components get their entries.
func TestWithoutTheComponentCRD(t *testing.T) {
	ctx := context.Background()
	env := harness.StartConfigured(t, harness.Generated, false, func(e *envtest.Environment) {
		e.CRDInstallOptions.CRDs = e.CRDInstallOptions.CRDs[:1] // the ExposedAPI CRD alone
	})
	ns := env.Namespace(t, "components")
	env.Gateway(t, "20.0.0.1", "")
	env.Implementation(t, ns, "impl", 8080, true)
	ctrl.SetLogger(zap.New(zap.WriteTo(harness.LogWriter(t))))
	op, err := app.New(env.Config, harness.DefaultOptions())
	require.NoError(t, err)
	runCtx, cancel := context.WithCancel(ctx)
	stopped := make(chan struct{})
	var runErr error
	go func() { runErr = op.Manager.Start(runCtx); close(stopped) }()
	t.Cleanup(func() { cancel(); <-stopped })
	started := time.Now()

	api := harness.API(ns, "shop", "/shop", "impl", 8080)
	require.NoError(t, env.Client.Create(ctx, api))
	waitReady(t, env, api, "https://20.0.0.1/shop")
	select {
	case <-stopped:
		t.Fatalf("the operator stopped %s after its start, without the Component CRD: %v", time.Since(started).Round(time.Second), runErr)
	case <-time.After(135 * time.Second):
	}

	for _, crd := range harness.ReadCRDs(t, filepath.Join(harness.RepoRoot(t), "test", "crds", "oda.tmforum.org_components.yaml")) {
		require.NoError(t, env.Client.Create(ctx, crd))
	}
	comp := &odav1.Component{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "shop"}}
	harness.Eventually(t, "the Component kind served", func() error { return env.Client.Create(ctx, comp.DeepCopy()) })
	require.NoError(t, env.Client.Get(ctx, client.ObjectKeyFromObject(comp), comp))
	env.UpdateAPI(t, api, func(a *odav1.ExposedAPI) {
		a.OwnerReferences = ownedAPI(ns, a.Name, "/shop", "impl", "", comp.Name, comp.UID).OwnerReferences
	})
	env.PatchComponentStatus(t, comp, map[string]any{"coreAPIs": []any{map[string]any{"name": "shop", "uid": string(api.UID)}}})
	waitEntry(t, env, ns, comp.Name, "coreAPIs", api, "https://20.0.0.1/shop", true)
	select {
	case <-stopped:
		t.Fatalf("the operator stopped: %v", runErr)
	default:
	}
}
