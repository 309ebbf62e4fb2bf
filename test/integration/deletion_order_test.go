package integration

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
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
