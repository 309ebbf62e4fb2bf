package integration

import (
	"context"
	"fmt"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	eventsv1 "k8s.io/api/events/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// TestEventsForWhatUsersActOn: a refusal (an invalid spec, a route another API holds, a
// VirtualService of another owner), a route withdrawn for a conflict and a route changed are
// recorded; a route created on the happy path is not (its status says it, and an Event
// would be a third write per API).
func TestEventsForWhatUsersActOn(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		ctx := context.Background()
		env, ns := startWithImpl(t, set)

		first, second := harness.API(ns, "first", "/first", "impl", 8080), harness.API(ns, "second", "/second", "impl", 8080)
		for _, api := range []*odav1.ExposedAPI{first, second} {
			require.NoError(t, env.Client.Create(ctx, api))
			waitCondition(t, env, api, "Ready", true, "Ready")
		}

		// The newer API takes the older one's path: it is refused, and its route withdrawn.
		setPath(t, env, second, "/first")
		waitCondition(t, env, second, "Accepted", false, "RouteConflict")
		assertEvent(t, env, ns, "second", "RouteConflict")
		assertEvent(t, env, ns, "second", "RouteWithdrawn")

		// The older one moves: its route is updated, and the newer one gets its route back.
		setPath(t, env, first, "/moved")
		virtualService(t, env, first, routeIs("*", "component-gateway", "/moved", "impl", 8080))
		assertEvent(t, env, ns, "first", "VirtualServiceUpdated")
		virtualService(t, env, second, routeIs("*", "component-gateway", "/first", "impl", 8080))

		// A spec the webhooks would have refused, and a VirtualService of another owner in
		// the way: each refusal is recorded.
		bad := harness.API(ns, "bad", "/bad", "impl", 70000)
		require.NoError(t, env.Client.Create(ctx, bad))
		waitCondition(t, env, bad, "Accepted", false, "InvalidSpec")
		assertEvent(t, env, ns, "bad", "InvalidSpec")
		foreign := &networkingv1VirtualService{}
		foreign.Namespace, foreign.Name = ns, "taken"
		require.NoError(t, env.Client.Create(ctx, foreign))
		taken := harness.API(ns, "taken", "/taken", "impl", 8080)
		require.NoError(t, env.Client.Create(ctx, taken))
		waitCondition(t, env, taken, "Programmed", false, "VirtualServiceNotOwned")
		assertEvent(t, env, ns, "taken", "VirtualServiceNotOwned")

		// Both APIs' routes were created before the events above were recorded.
		var list eventsv1.EventList
		require.NoError(t, env.Client.List(ctx, &list, client.InNamespace(ns)))
		for _, e := range list.Items {
			assert.NotEqual(t, "VirtualServiceCreated", e.Reason, "event for %s: %s", e.Regarding.Name, e.Note)
		}
	})
}

func setPath(t *testing.T, env *harness.Env, api *odav1.ExposedAPI, path string) {
	t.Helper()
	harness.Eventually(t, fmt.Sprintf("path of %s set to %s", api.Name, path), func() error {
		got := &odav1.ExposedAPI{}
		if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(api), got); err != nil {
			return err
		}
		got.Spec.Path = path
		return env.Client.Update(context.Background(), got)
	})
}

// TestEventsForRefusedChildren: a metrics API whose ServiceMonitor cannot be made (another
// owner's is in the way, its basicAuth is of the wrong shape) gets one Warning Event for
// it, not one per condition that repeats the reason (Ready); an invalid spec is recorded
// once, on its Accepted condition, not again on the Scraping condition it withdraws.
func TestEventsForRefusedChildren(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		ctx := context.Background()
		env, ns := webPlane(t, set, harness.ServiceMonitorCRD(t))
		harness.StartOperator(t, env, harness.DefaultOptions())

		invalid := metricsAPI(ns, "invalid", "/invalid", "web", 70000)
		require.NoError(t, env.Client.Create(ctx, invalid))
		waitCondition(t, env, invalid, "Scraping", false, "InvalidSpec")
		assertEvent(t, env, ns, "invalid", "InvalidSpec")

		foreign := &monitoringv1.ServiceMonitor{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "taken"},
			Spec: monitoringv1.ServiceMonitorSpec{Endpoints: []monitoringv1.Endpoint{{Port: "http"}}}}
		require.NoError(t, env.Client.Create(ctx, foreign))
		taken := metricsAPI(ns, "taken", "/taken", "web", 8080)
		require.NoError(t, env.Client.Create(ctx, taken))
		waitCondition(t, env, taken, "Scraping", false, "ServiceMonitorNotOwned")
		waitCondition(t, env, taken, "Ready", false, "ServiceMonitorNotOwned")
		assertEvent(t, env, ns, "taken", "ServiceMonitorNotOwned")

		badAuth := metricsAPI(ns, "bad-auth", "/bad-auth", "web", 8080)
		badAuth.Spec.BasicAuth = &apiextensionsv1.JSON{Raw: []byte(`{"username":"plain"}`)}
		require.NoError(t, env.Client.Create(ctx, badAuth))
		waitCondition(t, env, badAuth, "Scraping", false, "InvalidBasicAuth")
		assertEvent(t, env, ns, "bad-auth", "InvalidBasicAuth")

		// By now the first API's events, if there were two, have long been written.
		assert.Equal(t, 1, countEvents(t, env, ns, "invalid", "InvalidSpec"))
		assert.Equal(t, 1, countEvents(t, env, ns, "taken", "ServiceMonitorNotOwned"))
	})
}

// countEvents is eventCount, failing the test on an error.
func countEvents(t *testing.T, env *harness.Env, ns, regarding, reason string) int {
	t.Helper()
	n, err := eventCount(env, ns, regarding, reason)
	require.NoError(t, err)
	return n
}
