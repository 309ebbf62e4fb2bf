package integration

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
// internal and external, by its segment or by the setting, updates the same VirtualService.
func TestInternalSegments(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		ctx := context.Background()
		env := harness.Start(t, set)
		ns := env.Namespace(t, "components")
		env.Implementation(t, ns, "core", 8080, true)
		env.Implementation(t, ns, "mgmt", 9090, true)
		op := harness.StartOperator(t, env, internalSegmentsOptions())

		comp := &odav1.Component{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "shop"}}
		require.NoError(t, env.Client.Create(ctx, comp))
		core := ownedAPI(ns, "shop-core", "/shop/core", "core", "", "shop", comp.UID)
		mgmt := ownedAPI(ns, "shop-mgmt", "/shop/mgmt/", "mgmt", odav1.SegmentManagement, "shop", comp.UID)
		mgmt.Spec.Port, mgmt.Spec.DeveloperUI = 9090, "/shop/mgmt/docs"
		for _, api := range []*odav1.ExposedAPI{core, mgmt} {
			require.NoError(t, env.Client.Create(ctx, api))
		}
		env.PatchComponentStatus(t, comp, map[string]any{
			"coreAPIs":       []any{map[string]any{"name": core.Spec.Name, "uid": string(core.UID)}},
			"managementAPIs": []any{map[string]any{"name": mgmt.Spec.Name, "uid": string(mgmt.UID)}},
		})

		mesh := "mgmt." + ns + ".svc.cluster.local"
		vs := virtualService(t, env, mgmt, routeIs(mesh, "mesh", "/shop/mgmt", "mgmt", 9090))
		virtualService(t, env, core, routeIs("*", "component-gateway", "/shop/core", "core", 8080))
		// Inside the mesh no ingress address is needed; the core API waits for one.
		meshURL := wantStatus{"http://" + mesh + ":9090/shop/mgmt", "http://" + mesh + ":9090/shop/mgmt/docs", ""}
		waitAPIStatus(t, env, mgmt, meshURL, "Ready")
		waitAPIStatus(t, env, core, wantStatus{}, "NoIngressAddress")
		waitEntry(t, env, ns, "shop", "managementAPIs", mgmt, meshURL.url, true)

		env.Gateway(t, "20.0.0.1", "")
		waitAPIStatus(t, env, core, wantStatus{"https://20.0.0.1/shop/core", "", "20.0.0.1"}, "Ready")
		waitAPIStatus(t, env, mgmt, meshURL, "Ready")
		waitEntry(t, env, ns, "shop", "coreAPIs", core, "https://20.0.0.1/shop/core", true)

		// A segment made core moves the route to the gateway, in place; and back.
		env.UpdateAPI(t, mgmt, func(api *odav1.ExposedAPI) { api.Spec.Segment = odav1.SegmentCore })
		moved := virtualService(t, env, mgmt, routeIs("*", "component-gateway", "/shop/mgmt", "mgmt", 9090))
		assert.Equal(t, vs.UID, moved.UID, "the VirtualService is updated in place, not recreated")
		waitAPIStatus(t, env, mgmt, wantStatus{"https://20.0.0.1/shop/mgmt", "https://20.0.0.1/shop/mgmt/docs", "20.0.0.1"}, "Ready")
		env.UpdateAPI(t, mgmt, func(api *odav1.ExposedAPI) { api.Spec.Segment = odav1.SegmentSecurity })
		moved = virtualService(t, env, mgmt, routeIs(mesh, "mesh", "/shop/mgmt", "mgmt", 9090))
		assert.Equal(t, vs.UID, moved.UID, "the VirtualService is updated in place, not recreated")
		waitAPIStatus(t, env, mgmt, meshURL, "Ready")

		// Without the setting (a restart), the internal API is back on the gateway, in place.
		op.Stop()
		harness.StartOperator(t, env, harness.DefaultOptions())
		moved = virtualService(t, env, mgmt, routeIs("*", "component-gateway", "/shop/mgmt", "mgmt", 9090))
		assert.Equal(t, vs.UID, moved.UID, "the VirtualService is updated in place, not recreated")
		waitAPIStatus(t, env, mgmt, wantStatus{"https://20.0.0.1/shop/mgmt", "https://20.0.0.1/shop/mgmt/docs", "20.0.0.1"}, "Ready")
		waitEntry(t, env, ns, "shop", "managementAPIs", mgmt, "https://20.0.0.1/shop/mgmt", true)
	})
}

// TestMeshRouteDoesNotConflictWithGatewayRoute (issue #18): route conflicts are judged per
// gateway, by the webhook and by the controller alike: a mesh route and a gateway route on
// the same path are both served; two mesh routes to the same Service and path conflict.
func TestMeshRouteDoesNotConflictWithGatewayRoute(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		ctx := context.Background()
		env := harness.StartWithWebhooks(t, set)
		ns := env.Namespace(t, "components")
		env.Gateway(t, "20.0.0.1", "")
		env.Implementation(t, ns, "impl", 8080, true)
		harness.StartOperator(t, env, internalSegmentsOptions())
		require.NoError(t, harness.WaitForWebhook(ctx, env.Client, ns, harness.Wait))

		core := harness.API(ns, "core", "/shared", "impl", 8080)
		meshAPI := harness.API(ns, "metrics", "/shared", "impl", 8080)
		meshAPI.Spec.Segment = odav1.SegmentManagement
		require.NoError(t, env.Client.Create(ctx, core))
		require.NoError(t, env.Client.Create(ctx, meshAPI), "a mesh route does not conflict with a gateway route")
		mesh := "impl." + ns + ".svc.cluster.local"
		waitAPIStatus(t, env, core, wantStatus{"https://20.0.0.1/shared", "", "20.0.0.1"}, "Ready")
		waitAPIStatus(t, env, meshAPI, wantStatus{"http://" + mesh + ":8080/shared", "", ""}, "Ready")

		second := harness.API(ns, "events", "/shared", "impl", 8080)
		second.Spec.Segment = odav1.SegmentSecurity
		err := env.Client.Create(ctx, second)
		require.Error(t, err, "two mesh routes to one Service and path conflict")
		assert.Contains(t, err.Error(), `route `+mesh+`/shared on gateway mesh is already exposed by ExposedAPI `+ns+`/metrics`)
	})
}

// TestMeshRouteConflictsInTheController: without the webhook, the controller judges mesh
// claims by the same key: a gateway route and a mesh route on one path are both served, and
// the later of two mesh claims on one Service and path loses.
func TestMeshRouteConflictsInTheController(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		ctx := context.Background()
		env := harness.Start(t, set)
		ns := env.Namespace(t, "components")
		env.Gateway(t, "20.0.0.1", "")
		env.Implementation(t, ns, "impl", 8080, true)
		harness.StartOperator(t, env, internalSegmentsOptions())

		core := harness.API(ns, "core", "/shared", "impl", 8080)
		first := harness.API(ns, "metrics", "/shared", "impl", 8080)
		first.Spec.Segment = odav1.SegmentManagement
		for _, api := range []*odav1.ExposedAPI{core, first} {
			require.NoError(t, env.Client.Create(ctx, api))
		}
		mesh := "impl." + ns + ".svc.cluster.local"
		waitAPIStatus(t, env, core, wantStatus{"https://20.0.0.1/shared", "", "20.0.0.1"}, "Ready")
		waitAPIStatus(t, env, first, wantStatus{"http://" + mesh + ":8080/shared", "", ""}, "Ready")

		// Named after the first: creation times have whole seconds, and ties go by name.
		second := harness.API(ns, "security", "/shared", "impl", 8080)
		second.Spec.Segment = odav1.SegmentSecurity
		require.NoError(t, env.Client.Create(ctx, second))
		msg := waitCondition(t, env, second, "Accepted", false, "RouteConflict")
		assert.Contains(t, msg, "route "+mesh+"/shared on gateway mesh to impl:8080 is already exposed by ExposedAPI "+ns+"/metrics")
		virtualService(t, env, first, routeIs(mesh, "mesh", "/shared", "impl", 8080))
	})
}
