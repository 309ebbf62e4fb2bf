package integration

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// waitNoRoute waits until api's status describes no route: no URL, no route uid.
func waitNoRoute(t *testing.T, env *harness.Env, api *odav1.ExposedAPI, why string) {
	t.Helper()
	harness.Eventually(t, api.Name+": "+why, func() error {
		if s := getAPI(t, env, api).Status.APIStatus; s != nil && (s.URL != "" || s.UID != "") {
			return fmt.Errorf("apiStatus %+v", *s)
		}
		return nil
	})
}

// TestRefusedRecreateDescribesNoRoute (R4.1): an accepted API whose VirtualService is deleted
// by hand, and whose re-creation the API server refuses, has no route: its status loses
// the URL and uid of the one that is gone. A route written before that is still in place
// when an update is refused keeps them (TestRouteRefusedByTheAPIServer).
func TestRefusedRecreateDescribesNoRoute(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		ctx := context.Background()
		env, ns := startComponents(t, set)
		env.Implementation(t, ns, "impl", 8080, true)
		harness.StartOperator(t, env, harness.DefaultOptions())
		api := harness.API(ns, "refused", "/refused", "impl", 8080)
		require.NoError(t, env.Client.Create(ctx, api))
		waitAPIStatus(t, env, api, wantStatus{"https://20.0.0.1/refused", "", "20.0.0.1"}, "Ready")
		vs := virtualService(t, env, api, routeIs("*", "component-gateway", "/refused", "impl", 8080))

		refuseRoutes(t, env, ns)
		require.NoError(t, env.Client.Delete(ctx, vs))
		waitCondition(t, env, api, "Programmed", false, "RouteRefused")
		noVirtualService(t, env, api)
		waitNoRoute(t, env, api, "the deleted VirtualService is not described")
	})
}

// TestMovedInternalDescribesNoGatewayRoute (R4.1): a core API moved into an internal segment
// loses its gateway VirtualService; while the mesh route's leader cannot route it (a
// VirtualService of another owner holds the leader's name), its status gives neither the
// gateway URL nor that VirtualService's uid.
func TestMovedInternalDescribesNoGatewayRoute(t *testing.T) {
	ctx := context.Background()
	env, ns := startComponents(t, harness.Generated)
	env.Implementation(t, ns, "other", 8080, true)
	harness.StartOperator(t, env, internalSegmentsOptions())

	foreign := &networkingv1.VirtualService{}
	foreign.Namespace, foreign.Name = ns, "first"
	foreign.Spec.Hosts = []string{"other.example.com"}
	require.NoError(t, env.Client.Create(ctx, foreign))
	first := harness.API(ns, "first", "/first", "other", 8080)
	first.Spec.Segment = odav1.SegmentManagement
	require.NoError(t, env.Client.Create(ctx, first))
	waitCondition(t, env, first, "Programmed", false, "VirtualServiceNotOwned")
	time.Sleep(1100 * time.Millisecond) // creation times in whole seconds: first is the older

	second := harness.API(ns, "second", "/second", "other", 8080)
	require.NoError(t, env.Client.Create(ctx, second))
	waitAPIStatus(t, env, second, wantStatus{"https://20.0.0.1/second", "", "20.0.0.1"}, "Ready")

	env.UpdateAPI(t, second, func(a *odav1.ExposedAPI) { a.Spec.Segment = odav1.SegmentManagement })
	waitCondition(t, env, second, "Programmed", false, "MeshRoutePending")
	noVirtualService(t, env, second)
	waitNoRoute(t, env, second, "the deleted gateway VirtualService is not described")
}
