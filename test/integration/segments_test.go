package integration

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/internal/app"
	"github.com/oda-canvas/api-operator-istio/test/harness"
)

func internalSegmentsOptions() *app.Options {
	o := harness.DefaultOptions()
	o.InternalSegments = []string{odav1.SegmentManagement, odav1.SegmentSecurity}
	return o
}

// TestInternalSegments (issue #18): an API of an internal segment is routed on the mesh
// gateway at its Service's cluster name and published at that address, in its status and
// its Component entry; a core API stays on the component gateway. Moving an API between
// internal and external, by its segment or by the setting, moves its route.
func TestInternalSegments(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		env := harness.Start(t, set)
		ns := env.Namespace(t, "components")
		env.Implementation(t, ns, "core", 8080, true)
		env.Implementation(t, ns, "mgmt", 9090, true)
		op := harness.StartOperator(t, env, internalSegmentsOptions())

		core := ownedAPI(ns, "shop-core", "/shop/core", "core", "", "shop", "")
		mgmt := ownedAPI(ns, "shop-mgmt", "/shop/mgmt/", "mgmt", odav1.SegmentManagement, "shop", "")
		mgmt.Spec.Port, mgmt.Spec.DeveloperUI = 9090, "/shop/mgmt/docs"
		createShop(t, env, ns, map[string]*odav1.ExposedAPI{"coreAPIs": core, "managementAPIs": mgmt})

		mesh := "mgmt." + ns + ".svc.cluster.local"
		vs := virtualService(t, env, mgmt, meshIs(mesh, "mgmt", meshRoute("shop-mgmt", "/shop/mgmt", "mgmt", 9090)))
		virtualService(t, env, core, routeIs("*", "component-gateway", "/shop/core", "core", 8080))
		// Inside the mesh no ingress address is needed; the core API waits for one.
		meshURL := wantStatus{"http://" + mesh + ":9090/shop/mgmt", "http://" + mesh + ":9090/shop/mgmt/docs", ""}
		waitAPIStatus(t, env, mgmt, meshURL, "Ready")
		waitAPIStatus(t, env, core, wantStatus{}, "NoIngressAddress")
		waitEntry(t, env, ns, "shop", "managementAPIs", mgmt, meshURL.url, true)

		// The address wakes every API; mgmt had this status before, so it is read only once
		// its reconcile (one of the two) has finished.
		before := settledReconciles(t, quiet, "exposedapi")
		env.Gateway(t, "20.0.0.1", "")
		waitAPIStatus(t, env, core, wantStatus{"https://20.0.0.1/shop/core", "", "20.0.0.1"}, "Ready")
		reconciledSince(t, before, 2)
		waitAPIStatus(t, env, mgmt, meshURL, "Ready")
		waitEntry(t, env, ns, "shop", "coreAPIs", core, "https://20.0.0.1/shop/core", true)

		// A segment made core moves the route to the gateway: the mesh VirtualService goes
		// and a gateway one is made (after what guards it, when something does); moved back,
		// the gateway VirtualService becomes the mesh route in place.
		env.UpdateAPI(t, mgmt, func(api *odav1.ExposedAPI) { api.Spec.Segment = odav1.SegmentCore })
		moved := virtualService(t, env, mgmt, routeIs("*", "component-gateway", "/shop/mgmt", "mgmt", 9090))
		assert.NotEqual(t, vs.UID, moved.UID, "the mesh VirtualService is not turned into the gateway route")
		waitAPIStatus(t, env, mgmt, wantStatus{"https://20.0.0.1/shop/mgmt", "https://20.0.0.1/shop/mgmt/docs", "20.0.0.1"}, "Ready")
		env.UpdateAPI(t, mgmt, func(api *odav1.ExposedAPI) { api.Spec.Segment = odav1.SegmentSecurity })
		vs = virtualService(t, env, mgmt, meshIs(mesh, "mgmt", meshRoute("shop-mgmt", "/shop/mgmt", "mgmt", 9090)))
		assert.Equal(t, moved.UID, vs.UID, "the VirtualService is updated in place, not recreated")
		waitAPIStatus(t, env, mgmt, meshURL, "Ready")

		// Without the setting (a restart), the internal API is back on the gateway.
		op.Stop()
		harness.StartOperator(t, env, harness.DefaultOptions())
		moved = virtualService(t, env, mgmt, routeIs("*", "component-gateway", "/shop/mgmt", "mgmt", 9090))
		assert.NotEqual(t, vs.UID, moved.UID, "the mesh VirtualService is not turned into the gateway route")
		waitAPIStatus(t, env, mgmt, wantStatus{"https://20.0.0.1/shop/mgmt", "https://20.0.0.1/shop/mgmt/docs", "20.0.0.1"}, "Ready")
		waitEntry(t, env, ns, "shop", "managementAPIs", mgmt, "https://20.0.0.1/shop/mgmt", true)
	})
}

// TestMeshRouteDoesNotConflictWithGatewayRoute (issue #18): route conflicts are judged per
// gateway, by the webhook and by the controller alike: a mesh route and a gateway route on
// the same path are both served; two mesh routes to the same Service and path conflict.
func TestMeshRouteDoesNotConflictWithGatewayRoute(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		env := harness.StartWithWebhooks(t, set)
		ns, mesh := gatewayAndMeshOnOnePath(t, env, true)

		second := harness.API(ns, "events", "/shared", "impl", 8080)
		second.Spec.Segment = odav1.SegmentSecurity
		err := env.Client.Create(context.Background(), second)
		require.Error(t, err, "two mesh routes to one Service and path conflict")
		assert.Contains(t, err.Error(), `route `+mesh+`/shared on gateway mesh is already exposed by ExposedAPI `+ns+`/metrics`)
	})
}

// gatewayAndMeshOnOnePath starts the operator with internal segments, and in namespace
// components a core API "core" and a management API "metrics" on path /shared of Service impl,
// both served; it returns the namespace and the Service's cluster name.
func gatewayAndMeshOnOnePath(t *testing.T, env *harness.Env, webhooks bool) (ns, mesh string) {
	t.Helper()
	ctx := context.Background()
	ns = env.Namespace(t, "components")
	env.Gateway(t, "20.0.0.1", "")
	env.Implementation(t, ns, "impl", 8080, true)
	harness.StartOperator(t, env, internalSegmentsOptions())
	if webhooks {
		require.NoError(t, harness.WaitForWebhook(ctx, env.Client, ns, harness.Wait))
	}
	core := harness.API(ns, "core", "/shared", "impl", 8080)
	meshAPI := harness.API(ns, "metrics", "/shared", "impl", 8080)
	meshAPI.Spec.Segment = odav1.SegmentManagement
	require.NoError(t, env.Client.Create(ctx, core))
	require.NoError(t, env.Client.Create(ctx, meshAPI), "a mesh route does not conflict with a gateway route")
	mesh = "impl." + ns + ".svc.cluster.local"
	waitAPIStatus(t, env, core, wantStatus{"https://20.0.0.1/shared", "", "20.0.0.1"}, "Ready")
	waitAPIStatus(t, env, meshAPI, wantStatus{"http://" + mesh + ":8080/shared", "", ""}, "Ready")
	return ns, mesh
}

// TestMeshRouteConflictsInTheController: without the webhook, the controller judges mesh
// claims by the same key: a gateway route and a mesh route on one path are both served, and
// the later of two mesh claims on one Service and path loses.
func TestMeshRouteConflictsInTheController(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		ctx := context.Background()
		env := harness.Start(t, set)
		ns, mesh := gatewayAndMeshOnOnePath(t, env, false)
		first := &odav1.ExposedAPI{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "metrics"}}

		// Named after the first: creation times have whole seconds, and ties go by name.
		second := harness.API(ns, "security", "/shared", "impl", 8080)
		second.Spec.Segment = odav1.SegmentSecurity
		require.NoError(t, env.Client.Create(ctx, second))
		msg := waitCondition(t, env, second, "Accepted", false, "RouteConflict")
		assert.Contains(t, msg, "route "+mesh+"/shared on gateway mesh to impl:8080 is already exposed by ExposedAPI "+ns+"/metrics")
		virtualService(t, env, first, meshIs(mesh, "impl", meshRoute("metrics", "/shared", "impl", 8080)))
		noVirtualService(t, env, second)
	})
}

// TestOneMeshVirtualServicePerService (issue #18): Istio does not merge mesh VirtualServices
// of one host, so the internal APIs of one Service share one: the oldest one's, with a route
// per API (longest path first, each on its port) and a fall-through that leaves every other
// path and port of the Service as it was. The others have none of their own; when the oldest
// goes or moves out, the next takes over, and moving in or out updates a VirtualService in
// place.
func TestOneMeshVirtualServicePerService(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		ctx := context.Background()
		env, ns := startComponents(t, set)
		env.Implementation(t, ns, "impl", 8080, true)
		harness.StartOperator(t, env, internalSegmentsOptions())

		// Created in name order: creation times have whole seconds, and ties go by name.
		events := ownedAPI(ns, "events", "/shop/events", "impl", odav1.SegmentManagement, "shop", "")
		metrics := ownedAPI(ns, "metrics", "/shop/metrics/v1", "impl", odav1.SegmentSecurity, "shop", "")
		metrics.Spec.Port = 9090
		createShop(t, env, ns, map[string]*odav1.ExposedAPI{"managementAPIs": events, "securityAPIs": metrics})

		mesh := "impl." + ns + ".svc.cluster.local"
		eventsRoute := meshRoute("events", "/shop/events", "impl", 8080)
		metricsRoute := meshRoute("metrics", "/shop/metrics/v1", "impl", 9090)
		vs := virtualService(t, env, events, meshIs(mesh, "impl", metricsRoute, eventsRoute))
		noVirtualService(t, env, metrics)
		eventsURL := wantStatus{"http://" + mesh + ":8080/shop/events", "", ""}
		metricsURL := wantStatus{"http://" + mesh + ":9090/shop/metrics/v1", "", ""}
		waitAPIStatus(t, env, events, eventsURL, "Ready")
		waitAPIStatus(t, env, metrics, metricsURL, "Ready")
		waitMeshProgrammedBy(t, env, metrics, "events")
		waitRoutedBy(t, env, metrics, vs)
		waitEntry(t, env, ns, "shop", "managementAPIs", events, eventsURL.url, true)
		waitEntry(t, env, ns, "shop", "securityAPIs", metrics, metricsURL.url, true)

		// The same path on the same Service conflicts; the loser is in no VirtualService.
		// The leader's VirtualService is as before dup, so it is read only once dup's
		// reconcile and those it wakes (events', metrics') have finished.
		before := settledReconciles(t, quiet, "exposedapi")
		dup := harness.API(ns, "events-copy", "/shop/events", "impl", 8080)
		dup.Spec.Segment = odav1.SegmentSecurity
		require.NoError(t, env.Client.Create(ctx, dup))
		msg := waitCondition(t, env, dup, "Accepted", false, "RouteConflict")
		assert.Contains(t, msg, "is already exposed by ExposedAPI "+ns+"/events")
		reconciledSince(t, before, 3)
		noVirtualService(t, env, dup)
		virtualService(t, env, events, meshIs(mesh, "impl", metricsRoute, eventsRoute))
		require.NoError(t, env.Client.Delete(ctx, dup))

		// A younger API moved out gets its own gateway route; moved back in, it loses it.
		env.UpdateAPI(t, metrics, func(api *odav1.ExposedAPI) { api.Spec.Segment = odav1.SegmentCore })
		virtualService(t, env, metrics, routeIs("*", "component-gateway", "/shop/metrics/v1", "impl", 9090))
		virtualService(t, env, events, meshIs(mesh, "impl", eventsRoute))
		waitAPIStatus(t, env, metrics, wantStatus{"https://20.0.0.1/shop/metrics/v1", "", "20.0.0.1"}, "Ready")
		env.UpdateAPI(t, metrics, func(api *odav1.ExposedAPI) { api.Spec.Segment = odav1.SegmentSecurity })
		virtualService(t, env, events, meshIs(mesh, "impl", metricsRoute, eventsRoute))
		noVirtualService(t, env, metrics)
		waitAPIStatus(t, env, metrics, metricsURL, "Ready")

		// The oldest moved out drops its mesh VirtualService at once and gets a new gateway
		// route; the next one makes the mesh VirtualService. Moved back in, it takes the mesh
		// over again, in place.
		env.UpdateAPI(t, events, func(api *odav1.ExposedAPI) { api.Spec.Segment = odav1.SegmentCore })
		moved := virtualService(t, env, events, routeIs("*", "component-gateway", "/shop/events", "impl", 8080))
		assert.NotEqual(t, vs.UID, moved.UID, "the mesh VirtualService is not turned into the gateway route")
		virtualService(t, env, metrics, meshIs(mesh, "impl", metricsRoute))
		waitAPIStatus(t, env, events, wantStatus{"https://20.0.0.1/shop/events", "", "20.0.0.1"}, "Ready")
		env.UpdateAPI(t, events, func(api *odav1.ExposedAPI) { api.Spec.Segment = odav1.SegmentManagement })
		inPlace := virtualService(t, env, events, meshIs(mesh, "impl", metricsRoute, eventsRoute))
		assert.Equal(t, moved.UID, inPlace.UID, "the VirtualService is updated in place, not recreated")
		noVirtualService(t, env, metrics)
		waitAPIStatus(t, env, events, eventsURL, "Ready")

		// The oldest deleted: the next one's VirtualService takes over. (Without a garbage
		// collector in the test control plane, the deleted API's VirtualService stays.)
		require.NoError(t, env.Client.Delete(ctx, events))
		taken := virtualService(t, env, metrics, meshIs(mesh, "impl", metricsRoute))
		waitMeshProgrammedBy(t, env, metrics, "metrics")
		waitRoutedBy(t, env, metrics, taken)
		waitAPIStatus(t, env, metrics, metricsURL, "Ready")
	})
}

// waitMeshProgrammedBy waits until the internal API's Programmed condition names leader's
// VirtualService as the one that routes it: the condition had the same reason while another
// VirtualService routed it.
func waitMeshProgrammedBy(t *testing.T, env *harness.Env, api *odav1.ExposedAPI, leader string) {
	t.Helper()
	env.WaitAPI(t, api, "Programmed by VirtualService "+leader, func(got *odav1.ExposedAPI) error {
		c := meta.FindStatusCondition(got.Status.Conditions, "Programmed")
		if c == nil || c.Status != metav1.ConditionTrue || c.Reason != "VirtualServiceProgrammed" ||
			!strings.HasPrefix(c.Message, "VirtualService "+leader+" routes it") {
			return fmt.Errorf("condition %+v", c)
		}
		return nil
	})
}

// waitRoutedBy waits until the API's apiStatus names the VirtualService that routes it.
func waitRoutedBy(t *testing.T, env *harness.Env, api *odav1.ExposedAPI, vs *networkingv1.VirtualService) {
	t.Helper()
	env.WaitAPI(t, api, "routed by VirtualService "+vs.Name, func(got *odav1.ExposedAPI) error {
		if s := got.Status.APIStatus; s == nil || s.UID != string(vs.UID) {
			return fmt.Errorf("apiStatus %+v", s)
		}
		return nil
	})
}

// TestMeshRouteLeaderNotAccepted (issue #18): the oldest internal API of a Service whose
// spec becomes invalid drops the mesh VirtualService it led and the next one's takes over,
// until it is fixed. A leader that cannot make its VirtualService (a foreign one has its
// name) leaves the others pending, and they say whose VirtualService they wait for.
func TestMeshRouteLeaderNotAccepted(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		ctx := context.Background()
		env := harness.Start(t, set)
		ns := env.Namespace(t, "components")
		env.Implementation(t, ns, "impl", 8080, true)
		env.Implementation(t, ns, "other", 8080, true)
		harness.StartOperator(t, env, internalSegmentsOptions())

		internal := func(name, path, impl string) *odav1.ExposedAPI {
			api := harness.API(ns, name, path, impl, 8080)
			api.Spec.Segment = odav1.SegmentManagement
			require.NoError(t, env.Client.Create(ctx, api))
			return api
		}
		events, metrics := internal("events", "/events", "impl"), internal("metrics", "/metrics", "impl")
		mesh := "impl." + ns + ".svc.cluster.local"
		eventsRoute, metricsRoute := meshRoute("events", "/events", "impl", 8080), meshRoute("metrics", "/metrics", "impl", 8080)
		virtualService(t, env, events, meshIs(mesh, "impl", metricsRoute, eventsRoute))
		waitAPIStatus(t, env, metrics, wantStatus{"http://" + mesh + ":8080/metrics", "", ""}, "Ready")

		env.UpdateAPI(t, events, func(a *odav1.ExposedAPI) { a.Spec.Port = 0 })
		waitCondition(t, env, events, "Programmed", false, "NotAccepted")
		noVirtualService(t, env, events)
		virtualService(t, env, metrics, meshIs(mesh, "impl", metricsRoute))
		waitCondition(t, env, metrics, "Ready", true, "Ready")

		env.UpdateAPI(t, events, func(a *odav1.ExposedAPI) { a.Spec.Port = 8080 })
		virtualService(t, env, events, meshIs(mesh, "impl", metricsRoute, eventsRoute))
		noVirtualService(t, env, metrics)
		waitMeshProgrammedBy(t, env, metrics, "events")

		foreign := &networkingv1.VirtualService{}
		foreign.Namespace, foreign.Name = ns, "first"
		foreign.Spec.Hosts = []string{"other.example.com"}
		require.NoError(t, env.Client.Create(ctx, foreign))
		first, second := internal("first", "/first", "other"), internal("second", "/second", "other")
		waitCondition(t, env, first, "Programmed", false, "VirtualServiceNotOwned")
		msg := waitCondition(t, env, second, "Programmed", false, "MeshRoutePending")
		assert.Contains(t, msg, "VirtualService first")
		waitCondition(t, env, second, "Ready", false, "NotProgrammed")
		noVirtualService(t, env, second)
	})
}

// createShop creates Component shop and its APIs, in name order, each owned by it and listed
// in its status under the given list.
func createShop(t *testing.T, env *harness.Env, ns string, lists map[string]*odav1.ExposedAPI) {
	t.Helper()
	ctx := context.Background()
	comp := &odav1.Component{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "shop"}}
	require.NoError(t, env.Client.Create(ctx, comp))
	apis := slices.SortedFunc(maps.Values(lists), func(a, b *odav1.ExposedAPI) int { return strings.Compare(a.Name, b.Name) })
	for _, api := range apis {
		api.OwnerReferences[0].UID = comp.UID
		require.NoError(t, env.Client.Create(ctx, api))
	}
	status := map[string]any{}
	for list, api := range lists {
		status[list] = []any{map[string]any{"name": api.Spec.Name, "uid": string(api.UID)}}
	}
	env.PatchComponentStatus(t, comp, status)
}
