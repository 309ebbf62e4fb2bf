package integration

import (
	"context"
	"fmt"
	"testing"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/internal/app"
	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// TestForeignVirtualServiceGoes: an API held up by another owner's VirtualService is looked
// at again every RefusedRetry, by reading it, never by trying to write it, and gets its
// route once that VirtualService is deleted, with no change to the API: the operator's cache
// holds its own VirtualServices alone, so the deletion itself wakes nothing.
func TestForeignVirtualServiceGoes(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		ctx := context.Background()
		env, ns := startWithImplAnd(t, set, func(o *app.Options) { o.RefusedRetry = time.Second })
		foreign := &networkingv1VirtualService{}
		foreign.Namespace, foreign.Name = ns, "refused-held"
		require.NoError(t, env.Client.Create(ctx, foreign))
		api := harness.API(ns, "refused-held", "/held", "impl", 8080)
		require.NoError(t, env.Client.Create(ctx, api))
		waitCondition(t, env, api, "Programmed", false, "VirtualServiceNotOwned")

		// A write of that VirtualService would now be refused, and say so on the API.
		refuseRoutes(t, env, ns)
		time.Sleep(4 * time.Second) // rechecks, one a second
		c := meta.FindStatusCondition(getAPI(t, env, api).Status.Conditions, "Programmed")
		require.NotNil(t, c)
		assert.Equal(t, "VirtualServiceNotOwned", c.Reason, "a recheck reads; it tries no write")
		assert.Zero(t, countEvents(t, env, ns, api.Name, "RouteRefused"))
		allowRoutes(t, env)

		require.NoError(t, env.Client.Delete(ctx, foreign))
		waitCondition(t, env, api, "Ready", true, "Ready")
		virtualService(t, env, api, routeIs("*", "component-gateway", "/held", "impl", 8080))
	})
}

// TestForeignServiceMonitorGoes: the same for a ServiceMonitor of another owner. The cache
// holds it, but maps its events to the API that controls it, which none does.
func TestForeignServiceMonitorGoes(t *testing.T) {
	ctx := context.Background()
	env, ns := webPlane(t, harness.Generated, harness.ServiceMonitorCRD(t))
	o := harness.DefaultOptions()
	o.RefusedRetry = time.Second
	harness.StartOperator(t, env, o)
	foreign := &monitoringv1.ServiceMonitor{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "taken"},
		Spec: monitoringv1.ServiceMonitorSpec{Endpoints: []monitoringv1.Endpoint{{Port: "http"}}}}
	require.NoError(t, env.Client.Create(ctx, foreign))
	api := metricsAPI(ns, "taken", "/taken", "web", 8080)
	require.NoError(t, env.Client.Create(ctx, api))
	waitCondition(t, env, api, "Scraping", false, "ServiceMonitorNotOwned")

	require.NoError(t, env.Client.Delete(ctx, foreign))
	waitCondition(t, env, api, "Scraping", true, "ServiceMonitorProgrammed")
	waitServiceMonitor(t, env, api, "/taken", 8080)
}

// TestForeignVirtualServiceReplacesTheRoute: the API's VirtualService is deleted and another
// owner's takes its name while the operator is down. The API's route is gone, so its status
// (R4.1: the VirtualService's uid, the url) and its Component entry (R5.1) stop describing it.
func TestForeignVirtualServiceReplacesTheRoute(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		ctx := context.Background()
		env, ns := startComponents(t, set)
		env.Implementation(t, ns, "impl", 8080, true)
		comp := &odav1.Component{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "shop"}}
		require.NoError(t, env.Client.Create(ctx, comp))
		api := ownedAPI(ns, "replaced", "/replaced", "impl", odav1.SegmentCore, "shop", comp.UID)
		require.NoError(t, env.Client.Create(ctx, api))
		env.PatchComponentStatus(t, comp, map[string]any{"coreAPIs": []any{map[string]any{"name": api.Name, "uid": string(api.UID)}}})
		op := harness.StartOperator(t, env, harness.DefaultOptions())
		waitEntry(t, env, ns, "shop", "coreAPIs", api, "https://20.0.0.1/replaced", true)
		ours := virtualService(t, env, api, routeIs("*", "component-gateway", "/replaced", "impl", 8080))
		op.Stop()

		require.NoError(t, env.Client.Delete(ctx, ours))
		foreign := &networkingv1VirtualService{}
		foreign.Namespace, foreign.Name = ns, api.Name
		foreign.Spec.Hosts = []string{"other.example.com"}
		require.NoError(t, env.Client.Create(ctx, foreign))

		harness.StartOperator(t, env, harness.DefaultOptions())
		waitCondition(t, env, api, "Programmed", false, "VirtualServiceNotOwned")
		got := getAPI(t, env, api)
		if s := got.Status.APIStatus; s != nil && (s.UID == string(ours.UID) || s.URL != "") {
			t.Errorf("apiStatus still describes the deleted VirtualService %s: %+v", ours.UID, *s)
		}
		harness.Eventually(t, "the Component entry no longer advertises the url", func() error {
			if e := entryOf(env.ComponentStatus(t, ns, "shop"), "coreAPIs", string(api.UID)); e["url"] != nil {
				return fmt.Errorf("entry %v", e)
			}
			return nil
		})
	})
}
