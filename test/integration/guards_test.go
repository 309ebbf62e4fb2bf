package integration

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	admissionv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/internal/app"
	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// TestTokenChecksBeforeANewRoute: a new API that asks for token checks gets its route only
// once they are written, so that it is never reachable without them. While the API server
// refuses them (here an admission policy; as well RBAC, a quota or Istio's webhook) the API
// has no route and says why, with a Warning Event; once they can be written, both follow
// without the API changing.
func TestTokenChecksBeforeANewRoute(t *testing.T) {
	ctx := context.Background()
	env, ns := startWithImplAnd(t, harness.Generated, func(o *app.Options) { o.JWTIssuer, o.RefusedRetry = issuer, time.Second })
	refuseTokenChecks(t, env)

	api := harness.API(ns, "guarded", "/guarded", "impl", 8080)
	api.Spec.APIKeyVerification = &odav1.APIKeyVerification{Enabled: ptr.To(true)}
	require.NoError(t, env.Client.Create(ctx, api))
	msg := waitCondition(t, env, api, "PoliciesProgrammed", false, "WriteRefused")
	assert.Contains(t, msg, refusal)
	msg = waitCondition(t, env, api, "Programmed", false, "RouteGuardsUnwritten")
	assert.Contains(t, msg, "VirtualService guarded is not made until the objects that guard it are written")
	waitCondition(t, env, api, "Ready", false, "NotProgrammed")
	assertEvent(t, env, ns, api.Name, "WriteRefused")
	for range 3 { // several rechecks, one a second
		err := env.Client.Get(ctx, client.ObjectKeyFromObject(api), &networkingv1VirtualService{})
		require.True(t, apierrors.IsNotFound(err), "no route without its token checks: %v", err)
		time.Sleep(time.Second)
	}

	allow(t, env, "refuse-checks")
	waitCondition(t, env, api, "Ready", true, "Ready")
	authorizationPolicy(t, env, ns+".guarded", denyWithoutToken(nil, "/guarded*"))
	virtualService(t, env, api, routeIs("*", "component-gateway", "/guarded", "impl", 8080))
}

// TestRefusedTokenChecksAreReported: an update of an API's token checks that the API server
// refuses is reported on the API, which is not Ready, with a Warning Event, and is tried
// again until it lands, without the API changing. Meanwhile the route stays where its
// checks cover it, and the status keeps describing it: it moves once they can cover the
// move.
func TestRefusedTokenChecksAreReported(t *testing.T) {
	ctx := context.Background()
	env, ns := startWithImplAnd(t, harness.Generated, func(o *app.Options) {
		o.JWTIssuer, o.RefusedRetry, o.MoveSettle = issuer, time.Second, time.Second
	})
	api := harness.API(ns, "kept", "/kept", "impl", 8080)
	api.Spec.APIKeyVerification = &odav1.APIKeyVerification{Enabled: ptr.To(true)}
	require.NoError(t, env.Client.Create(ctx, api))
	waitCondition(t, env, api, "Ready", true, "Ready")

	refuseTokenChecks(t, env)
	setPath(t, env, api, "/moved")
	msg := waitCondition(t, env, api, "PoliciesProgrammed", false, "WriteRefused")
	assert.Contains(t, msg, refusal)
	assert.Contains(t, msg, "which guard its route")
	msg = waitCondition(t, env, api, "Programmed", false, "RouteGuardsUnwritten")
	assert.Contains(t, msg, "VirtualService kept is not updated until the objects that guard it cover what it is to take")
	waitCondition(t, env, api, "Ready", false, "NotProgrammed")
	assertEvent(t, env, ns, api.Name, "WriteRefused")
	for range 3 { // several rechecks, one a second
		got := &odav1.ExposedAPI{}
		require.NoError(t, env.Client.Get(ctx, client.ObjectKeyFromObject(api), got))
		assert.Equal(t, "/kept", got.Status.APIStatus.Path, "the status describes the route in place")
		assert.NoError(t, routeIs("*", "component-gateway", "/kept", "impl", 8080)(virtualService(t, env, api, func(*networkingv1VirtualService) error { return nil })))
		time.Sleep(time.Second)
	}

	allow(t, env, "refuse-checks")
	waitCondition(t, env, api, "Ready", true, "Ready")
	authorizationPolicy(t, env, ns+".kept", denyWithoutToken(nil, "/moved*"))
	virtualService(t, env, api, routeIs("*", "component-gateway", "/moved", "impl", 8080))
}

// refuseTokenChecks puts in force an admission policy that refuses every write of an
// AuthorizationPolicy in istio-system.
func refuseTokenChecks(t *testing.T, env *harness.Env) {
	t.Helper()
	probe := &securityv1.AuthorizationPolicy{}
	probe.Namespace, probe.Name = "istio-system", "probe"
	refuse(t, env, "refuse-checks", admissionv1.Rule{APIGroups: []string{"security.istio.io"}, APIVersions: []string{"*"}, Resources: []string{"authorizationpolicies"}},
		"false", probe)
}

// TestNoTokenChecksForAnotherOwnersRoute: a new API whose route name another owner's
// VirtualService holds (one the operator's cache leaves out) gets no token checks: they
// would act on the requests that route takes, which are not the API's. It gets both once
// that VirtualService goes.
func TestNoTokenChecksForAnotherOwnersRoute(t *testing.T) {
	ctx := context.Background()
	env, ns := startWithImplAnd(t, harness.Generated, func(o *app.Options) { o.JWTIssuer, o.RefusedRetry = issuer, time.Second })
	foreign := &networkingv1VirtualService{}
	foreign.Namespace, foreign.Name = ns, "taken"
	require.NoError(t, env.Client.Create(ctx, foreign))
	api := harness.API(ns, "taken", "/taken", "impl", 8080)
	api.Spec.APIKeyVerification = &odav1.APIKeyVerification{Enabled: ptr.To(true)}
	require.NoError(t, env.Client.Create(ctx, api))
	waitCondition(t, env, api, "Programmed", false, "VirtualServiceNotOwned")

	staysAbsent(t, env, client.ObjectKey{Namespace: "istio-system", Name: ns + ".taken"}, &securityv1.AuthorizationPolicy{},
		"no token checks for another owner's route")

	require.NoError(t, env.Client.Delete(ctx, foreign))
	waitCondition(t, env, api, "Ready", true, "Ready")
	authorizationPolicy(t, env, ns+".taken", denyWithoutToken(nil, "/taken*"))
	virtualService(t, env, api, routeIs("*", "component-gateway", "/taken", "impl", 8080))
}

// TestAnotherOwnersTokenCheckHoldsANewRoute: a new API whose AuthorizationPolicy name on
// the gateway another owner's object holds cannot have its token checks in force, so it
// gets no route, and says why; once that object goes, it gets both without changing.
func TestAnotherOwnersTokenCheckHoldsANewRoute(t *testing.T) {
	ctx := context.Background()
	env, ns := startWithImplAnd(t, harness.Generated, func(o *app.Options) { o.JWTIssuer, o.RefusedRetry = issuer, time.Second })
	foreign := &securityv1.AuthorizationPolicy{}
	foreign.Namespace, foreign.Name = "istio-system", ns+".held"
	require.NoError(t, env.Client.Create(ctx, foreign))
	api := harness.API(ns, "held", "/held", "impl", 8080)
	api.Spec.APIKeyVerification = &odav1.APIKeyVerification{Enabled: ptr.To(true)}
	require.NoError(t, env.Client.Create(ctx, api))

	msg := waitCondition(t, env, api, "Programmed", false, "RouteGuardsUnwritten")
	assert.Contains(t, msg, "AuthorizationPolicy istio-system/"+ns+".held exists and is not controlled by this ExposedAPI")
	waitConditionSays(t, env, api, "PoliciesProgrammed", "spec.apiKeyVerification (AuthorizationPolicy istio-system/"+ns+".held exists")
	staysAbsent(t, env, client.ObjectKeyFromObject(api), &networkingv1VirtualService{}, "no route while its token checks are another's")

	require.NoError(t, env.Client.Delete(ctx, foreign))
	waitCondition(t, env, api, "Ready", true, "Ready")
	authorizationPolicy(t, env, ns+".held", denyWithoutToken(nil, "/held*"))
	virtualService(t, env, api, routeIs("*", "component-gateway", "/held", "impl", 8080))
}

// staysAbsent checks, over the first reconcile and the rechecks that follow one a second,
// that there is no object at key.
func staysAbsent(t *testing.T, env *harness.Env, key client.ObjectKey, obj client.Object, why string) {
	t.Helper()
	for range 3 {
		err := env.Client.Get(context.Background(), key, obj)
		require.True(t, apierrors.IsNotFound(err), "%s: %v", why, err)
		time.Sleep(time.Second)
	}
}
