package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

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
// once, on its Accepted condition, not again on the Scraping condition it withdraws; and
// none is recorded again by a later reconcile or status change while it stands.
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
		// A misspelt password: decoded loosely, a ServiceMonitor with an empty Secret name.
		badAuth.Spec.BasicAuth = &apiextensionsv1.JSON{Raw: []byte(`{"username":{"name":"creds","key":"user"},"pasword":{"name":"creds","key":"pass"}}`)}
		require.NoError(t, env.Client.Create(ctx, badAuth))
		waitCondition(t, env, badAuth, "Scraping", false, "InvalidBasicAuth")
		assertEvent(t, env, ns, "bad-auth", "InvalidBasicAuth")

		// One more reconcile of each, in the refused state it has recorded already, must
		// record nothing again.
		resync(t, env, invalid, taken, badAuth)
		// Refusals are recorded where the status is written, so a status change that
		// leaves them as they are (the gateway's address moves) must not record them again.
		env.Gateway(t, "20.0.0.2", "")
		for _, api := range []*odav1.ExposedAPI{taken, badAuth} {
			env.WaitAPI(t, api, "URL on the new address", func(got *odav1.ExposedAPI) error {
				if s := got.Status.APIStatus; s == nil || !strings.HasPrefix(s.URL, "https://20.0.0.2/") {
					return fmt.Errorf("apiStatus %+v", s)
				}
				return nil
			})
		}
		settledReconciles(t, quiet, "exposedapi")

		// The events.k8s.io broadcaster folds a repeat (same type, reason, action and
		// object, whatever the note) into the first Event's series rather than making a
		// second object, so a single Event with no series is what "recorded once" looks
		// like. The quiet window resync waited for has let any repeat reach the API server;
		// looking a little longer covers a slow sink.
		deadline := time.Now().Add(time.Second)
		for time.Now().Before(deadline) {
			require.NoError(t, recordedOnce(env, ns, "invalid", "InvalidSpec"))
			require.NoError(t, recordedOnce(env, ns, "taken", "ServiceMonitorNotOwned"))
			require.NoError(t, recordedOnce(env, ns, "bad-auth", "InvalidBasicAuth"))
			time.Sleep(harness.Tick)
		}
	})
}

// recordedOnce is nil when exactly one Event of reason is about the object named regarding
// and the broadcaster has folded no repeat into it.
func recordedOnce(env *harness.Env, ns, regarding, reason string) error {
	var list eventsv1.EventList
	if err := env.Client.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
		return err
	}
	var found []eventsv1.Event
	for _, e := range list.Items {
		if e.Regarding.Name == regarding && e.Reason == reason {
			found = append(found, e)
		}
	}
	if len(found) != 1 {
		return fmt.Errorf("%d Events %s for %s, want 1", len(found), reason, regarding)
	}
	if s := found[0].Series; s != nil {
		return fmt.Errorf("Event %s for %s recorded %d times (series), want once", reason, regarding, s.Count)
	}
	return nil
}

// countEvents is eventCount, failing the test on an error.
func countEvents(t *testing.T, env *harness.Env, ns, regarding, reason string) int {
	t.Helper()
	n, err := eventCount(env, ns, regarding, reason)
	require.NoError(t, err)
	return n
}
