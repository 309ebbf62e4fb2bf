package integration

import (
	"context"
	"testing"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

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
