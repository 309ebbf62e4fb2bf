package integration

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/internal/app"
	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// TestTokenChecksOutliveTheRoute: an API with token checks being deleted loses its route
// before its token checks, so that no moment leaves the route open without them (garbage
// collection would delete the route only after the API, so after the checks); deleted with
// its children orphaned, it leaves the route and the checks in place together.
func TestTokenChecksOutliveTheRoute(t *testing.T) {
	ctx := context.Background()
	env, ns := startComponents(t, harness.Generated)
	env.Implementation(t, ns, "impl", 8080, true)
	o := harness.DefaultOptions()
	o.JWTIssuer, o.JWKSURI = issuer, "https://idp.example.com/certs"
	op := harness.StartOperator(t, env, o)

	guarded := func(name string) *odav1.ExposedAPI {
		api := harness.API(ns, name, "/"+name, "impl", 8080)
		api.Spec.APIKeyVerification = &odav1.APIKeyVerification{Enabled: ptr.To(true)}
		require.NoError(t, env.Client.Create(ctx, api))
		waitCondition(t, env, api, "PoliciesProgrammed", true, "PoliciesEnforced")
		waitCondition(t, env, api, "Ready", true, "Ready")
		return api
	}

	shop := guarded("shop")
	require.NoError(t, env.Client.Delete(ctx, shop))
	waitGone(t, env, shop)
	// envtest runs no garbage collector: only the operator can have deleted the route.
	waitGone(t, env, &networkingv1VirtualService{ObjectMeta: shop.ObjectMeta})
	routeGone := deleteAt(op.Requests().All(), "/virtualservices/shop")
	checksGone := deleteAt(op.Requests().All(), "/authorizationpolicies/components.shop")
	require.GreaterOrEqual(t, routeGone, 0, "the operator deleted the VirtualService")
	require.GreaterOrEqual(t, checksGone, 0, "the operator deleted the AuthorizationPolicy")
	assert.Less(t, routeGone, checksGone, "the route went before its token checks")

	kept := guarded("kept")
	require.NoError(t, env.Client.Delete(ctx, kept, client.PropagationPolicy("Orphan")))
	// The orphan finalizer stays without a garbage collector; ours goes.
	env.WaitAPI(t, kept, "our finalizer gone", func(got *odav1.ExposedAPI) error {
		if controllerutil.ContainsFinalizer(got, "oda.tmforum.org/gateway-policies") {
			return fmt.Errorf("finalizers %v", got.Finalizers)
		}
		return nil
	})
	require.NoError(t, env.Client.Get(ctx, client.ObjectKeyFromObject(kept), &networkingv1VirtualService{}), "the orphaned route stays")
	ap := &securityv1.AuthorizationPolicy{}
	require.NoError(t, env.Client.Get(ctx, client.ObjectKey{Namespace: "istio-system", Name: "components.kept"}, ap), "and its token checks with it")
}

// deleteAt is the index among reqs of the first DELETE whose path ends with suffix; -1 if none.
func deleteAt(reqs []*http.Request, suffix string) int {
	return slices.IndexFunc(reqs, func(r *http.Request) bool {
		return r.Method == http.MethodDelete && strings.HasSuffix(r.URL.Path, suffix)
	})
}

// TestOrphanedRouteKeepsItsTokenChecks: deleted with its children orphaned, an API whose
// route the garbage collector has already orphaned (ownerReferences off, then the orphan
// finalizer) before the operator looks at it (the operator restarting, or slower) still
// leaves its token checks with the route, which keeps serving: no orphan finalizer is left
// to say so, the route itself does.
func TestOrphanedRouteKeepsItsTokenChecks(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		env, ns := startComponents(t, set)
		env.Implementation(t, ns, "impl", 8080, true)
		o := harness.DefaultOptions()
		o.JWTIssuer, o.JWKSURI = issuer, "https://idp.example.com/certs"
		keepsChecksOrphaned(t, env, o, harness.API(ns, "kept", "/kept", "impl", 8080), &networkingv1VirtualService{},
			client.ObjectKey{Namespace: "istio-system", Name: ns + ".kept"})
	})
	t.Run("HTTPRoute", func(t *testing.T) {
		env, ns := startGateways(t)
		keepsChecksOrphaned(t, env, withChecks(httpRouteOptions("canvas/component-gateway")), keyVerifiedAPI(ns), &gatewayv1.HTTPRoute{},
			client.ObjectKey{Namespace: "canvas", Name: ns + ".shop"})
	})
}

// keepsChecksOrphaned creates api with token checks (at checks) and its route of route's
// kind, deletes it with its children orphaned while the operator is stopped, does what the
// garbage collector does, and checks that, once the operator is back and the API gone, the
// route and its checks are still in place.
func keepsChecksOrphaned(t *testing.T, env *harness.Env, o *app.Options, api *odav1.ExposedAPI, route client.Object, checks client.ObjectKey) {
	ctx := context.Background()
	api.Spec.APIKeyVerification = &odav1.APIKeyVerification{Enabled: ptr.To(true)}
	op := harness.StartOperator(t, env, o)
	require.NoError(t, env.Client.Create(ctx, api))
	waitCondition(t, env, api, "PoliciesProgrammed", true, "PoliciesEnforced")
	waitChild(t, env, api, route, func(client.Object) error { return nil })
	op.Stop()

	require.NoError(t, env.Client.Delete(ctx, api, client.PropagationPolicy("Orphan")))
	orphanChildren(t, env, api, route)

	harness.StartOperator(t, env, o)
	waitGone(t, env, api)
	time.Sleep(time.Second) // what the operator would delete, it deletes before the API goes
	require.NoError(t, env.Client.Get(ctx, client.ObjectKeyFromObject(api), route), "the orphaned route stays")
	assert.Empty(t, route.GetOwnerReferences())
	assert.NoError(t, env.Client.Get(ctx, checks, &securityv1.RequestAuthentication{}), "and its token checks with it")
	assert.NoError(t, env.Client.Get(ctx, checks, &securityv1.AuthorizationPolicy{}), "and its token checks with it")
}

// orphanChildren does what the garbage collector does for an API deleted with the orphan
// propagation policy, which envtest does not run: it takes the ownerReferences off the
// API's children (route, of its kind, is the one checked here) and then the orphan
// finalizer off the API.
func orphanChildren(t *testing.T, env *harness.Env, api *odav1.ExposedAPI, route client.Object) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, env.Client.Get(ctx, client.ObjectKeyFromObject(api), route))
	require.NotEmpty(t, route.GetOwnerReferences())
	route.SetOwnerReferences(nil)
	require.NoError(t, env.Client.Update(ctx, route))
	got := &odav1.ExposedAPI{}
	require.NoError(t, env.Client.Get(ctx, client.ObjectKeyFromObject(api), got))
	require.True(t, controllerutil.RemoveFinalizer(got, metav1.FinalizerOrphanDependents))
	require.NoError(t, env.Client.Update(ctx, got))
}

// TestHeldAPISaysItsRouteIsGone: an API being deleted loses its route at once, even while
// another controller's finalizer holds it; its status then says so (not Programmed, not
// Ready, no URL), and its Component entry loses its url, rather than point at a route that
// nothing serves (and that another API may have taken over).
func TestHeldAPISaysItsRouteIsGone(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		ctx := context.Background()
		env, ns := startComponents(t, set)
		env.Implementation(t, ns, "impl", 8080, true)
		harness.StartOperator(t, env, harness.DefaultOptions())
		comp := &odav1.Component{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "shop"}}
		require.NoError(t, env.Client.Create(ctx, comp))
		api := ownedAPI(ns, "held", "/held", "impl", odav1.SegmentCore, "shop", comp.UID)
		api.Finalizers = []string{"example.com/hold"}
		require.NoError(t, env.Client.Create(ctx, api))
		env.PatchComponentStatus(t, comp, map[string]any{"coreAPIs": []any{map[string]any{"name": "held", "uid": string(api.UID)}}})
		waitEntry(t, env, ns, "shop", "coreAPIs", api, "https://20.0.0.1/held", true)

		require.NoError(t, env.Client.Delete(ctx, api))
		waitGone(t, env, &networkingv1VirtualService{ObjectMeta: api.ObjectMeta})
		waitCondition(t, env, api, "Programmed", false, "Deleting")
		waitCondition(t, env, api, "Ready", false, "NotProgrammed")
		waitCondition(t, env, api, "PoliciesProgrammed", false, "Deleting") // nothing enforced now
		got := getAPI(t, env, api)
		assert.Nil(t, got.Status.APIStatus, "no URL: nothing routes it")
		assert.Equal(t, []string{"example.com/hold"}, got.Finalizers, "the other controller's finalizer holds it")
		waitNoURL(t, env, ns, "shop", api, true) // ready follows the implementation

		env.UpdateAPI(t, api, func(a *odav1.ExposedAPI) { a.Finalizers = nil })
		waitGone(t, env, api)
	})
}
