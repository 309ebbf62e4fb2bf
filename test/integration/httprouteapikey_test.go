package integration

import (
	"context"
	"testing"

	securityapi "istio.io/api/security/v1beta1"
	typev1beta1 "istio.io/api/type/v1beta1"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/internal/app"
	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// startGateways is a control plane with the Gateway API CRDs, the ingress gateway in
// istio-system, Gateway canvas/component-gateway of Istio's class, and an implementation
// impl in namespace components.
func startGateways(t *testing.T) (*harness.Env, string) {
	env := harness.Start(t, harness.Generated, harness.GatewayAPICRDs(t)...)
	env.Gateway(t, "20.0.0.1", "")
	ns := env.Namespace(t, "components")
	env.ComponentGateway(t, "canvas", "component-gateway", "30.0.0.1", 80)
	env.Implementation(t, ns, "impl", 8080, true)
	return env, ns
}

// withChecks are the options o with JWT checks and the ingress gateway in istio-system.
func withChecks(o *app.Options) *app.Options {
	o.JWTIssuer, o.IngressGatewayNamespace = issuer, "istio-system"
	return o
}

// TestAPIKeyVerificationInHTTPRouteMode: in HTTPRoute mode the token checks attach to the
// component Gateway by targetRefs, in its namespace, since the pods Istio deploys for a
// Gateway lack the ingress gateway's labels; on a manual deployment (an address naming the
// ingress Service) they select the ingress gateway pods in their namespace, and move when
// the Gateway changes; one served by another Service, or a Gateway of another
// implementation, is reported not in force; with the API they go from everywhere.
func TestAPIKeyVerificationInHTTPRouteMode(t *testing.T) {
	ctx := context.Background()
	env, ns := startGateways(t)
	harness.StartOperator(t, env, withChecks(httpRouteOptions("canvas/component-gateway")))

	api := keyVerifiedAPI(ns)
	require.NoError(t, env.Client.Create(ctx, api))

	onGateway := client.ObjectKey{Namespace: "canvas", Name: ns + ".shop"}
	onIngress := client.ObjectKey{Namespace: "istio-system", Name: ns + ".shop"}
	gateway := []*typev1beta1.PolicyTargetReference{{Group: "gateway.networking.k8s.io", Kind: "Gateway", Name: "component-gateway"}}
	checksAt(t, env, onGateway, nil, gateway)
	checksGone(t, env, onIngress)
	assert.Contains(t, waitCondition(t, env, api, "PoliciesProgrammed", true, "PoliciesEnforced"), "canvas/components.shop (on Gateway component-gateway)")

	// An HTTPRoute cannot name an IP address, so its route takes any host: the check must
	// not be scoped to the IP, which other Host headers would escape.
	byIP := harness.API(ns, "byip", "/byip", "impl", 8080)
	byIP.Spec.Hostname = "192.0.2.11"
	byIP.Spec.APIKeyVerification = &odav1.APIKeyVerification{Enabled: ptr.To(true)}
	require.NoError(t, env.Client.Create(ctx, byIP))
	anyHost := denyWithoutToken(nil, "/byip*")
	anyHost.Selector, anyHost.TargetRefs = nil, gateway
	istioObject(t, env, &securityv1.AuthorizationPolicy{}, client.ObjectKey{Namespace: "canvas", Name: ns + ".byip"},
		func(o *securityv1.AuthorizationPolicy) *securityapi.AuthorizationPolicy { return &o.Spec }, anyHost)
	require.NoError(t, env.Client.Delete(ctx, byIP))

	updateGateway(t, env, func(gw *gatewayv1.Gateway) {
		gw.Spec.Addresses = []gatewayv1.GatewaySpecAddress{{Type: ptr.To(gatewayv1.HostnameAddressType), Value: "istio-ingressgateway.istio-system.svc.cluster.local"}}
	})
	checksAt(t, env, onIngress, gatewayPods, nil)
	checksGone(t, env, onGateway)
	updateGateway(t, env, func(gw *gatewayv1.Gateway) { gw.Spec.Addresses[0].Value = "edge-gw.edge.svc.cluster.local" })
	assert.Contains(t, waitCondition(t, env, api, "PoliciesProgrammed", false, "PolicyNotEnforced"),
		"served by the pods of Service edge/edge-gw, not by the istio=ingressgateway Service in istio-system")

	require.NoError(t, env.Client.Create(ctx, &gatewayv1.GatewayClass{ObjectMeta: metav1.ObjectMeta{Name: "other"},
		Spec: gatewayv1.GatewayClassSpec{ControllerName: "example.com/other-gateway"}}))
	updateGateway(t, env, func(gw *gatewayv1.Gateway) { gw.Spec.Addresses, gw.Spec.GatewayClassName = nil, "other" })
	waitConditionSays(t, env, api, "PoliciesProgrammed", "Gateway canvas/component-gateway is of GatewayClass other, implemented by example.com/other-gateway: only Istio")
	waitCondition(t, env, api, "PoliciesProgrammed", false, "PolicyNotEnforced")

	require.NoError(t, env.Client.Delete(ctx, api))
	waitGone(t, env, api)
	checksGone(t, env, onGateway)
	checksGone(t, env, onIngress)
}

// checksAt waits for the JWT check of the API at key: its RequestAuthentication and DENY,
// on the pods of selector or targetRefs.
func checksAt(t *testing.T, env *harness.Env, key client.ObjectKey, selector *typev1beta1.WorkloadSelector, refs []*typev1beta1.PolicyTargetReference) {
	t.Helper()
	istioObject(t, env, &securityv1.RequestAuthentication{}, key,
		func(o *securityv1.RequestAuthentication) *securityapi.RequestAuthentication { return &o.Spec },
		&securityapi.RequestAuthentication{Selector: selector, TargetRefs: refs,
			JwtRules: []*securityapi.JWTRule{{Issuer: issuer, ForwardOriginalToken: true}}})
	deny := denyWithoutToken([]string{"shop.example.com", "shop.example.com:*"}, "/shop*")
	deny.Selector, deny.TargetRefs = selector, refs
	istioObject(t, env, &securityv1.AuthorizationPolicy{}, key,
		func(o *securityv1.AuthorizationPolicy) *securityapi.AuthorizationPolicy { return &o.Spec }, deny)
}

func checksGone(t *testing.T, env *harness.Env, key client.ObjectKey) {
	t.Helper()
	istioObject(t, env, &securityv1.RequestAuthentication{}, key,
		func(o *securityv1.RequestAuthentication) *securityapi.RequestAuthentication { return &o.Spec }, nil)
	istioObject(t, env, &securityv1.AuthorizationPolicy{}, key,
		func(o *securityv1.AuthorizationPolicy) *securityapi.AuthorizationPolicy { return &o.Spec }, nil)
}

func updateGateway(t *testing.T, env *harness.Env, change func(*gatewayv1.Gateway)) {
	t.Helper()
	require.NoError(t, retry.RetryOnConflict(retry.DefaultRetry, func() error {
		gw := &gatewayv1.Gateway{}
		if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: "canvas", Name: "component-gateway"}, gw); err != nil {
			return err
		}
		change(gw)
		return env.Client.Update(context.Background(), gw)
	}))
}

// TestTokenChecksAcrossTheRouteAPISwitch: restarted in HTTPRoute mode, an API keeps its
// VirtualService on the ingress gateway until the Gateway accepts its HTTPRoute, and keeps
// that route's token checks as long: the Gateway's come first, the ingress gateway's go
// with the VirtualService.
func TestTokenChecksAcrossTheRouteAPISwitch(t *testing.T) {
	ctx := context.Background()
	env, ns := startGateways(t)
	op := harness.StartOperator(t, env, withChecks(harness.DefaultOptions()))
	api := keyVerifiedAPI(ns)
	require.NoError(t, env.Client.Create(ctx, api))
	onGateway := client.ObjectKey{Namespace: "canvas", Name: ns + ".shop"}
	onIngress := client.ObjectKey{Namespace: "istio-system", Name: ns + ".shop"}
	checksAt(t, env, onIngress, gatewayPods, nil)
	vs := virtualService(t, env, api, func(*networkingv1.VirtualService) error { return nil })
	op.Stop()

	harness.StartOperator(t, env, withChecks(httpRouteOptions("canvas/component-gateway")))
	checksAt(t, env, onGateway, nil, []*typev1beta1.PolicyTargetReference{{Group: "gateway.networking.k8s.io", Kind: "Gateway", Name: "component-gateway"}})
	keeps(t, env, &securityv1.AuthorizationPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: onIngress.Namespace, Name: onIngress.Name}},
		"the DENY of the VirtualService that still routes the API")
	checksAt(t, env, onIngress, gatewayPods, nil)

	env.JudgeRoute(t, client.ObjectKeyFromObject(api), true, "Accepted", "")
	waitGone(t, env, vs)
	checksGone(t, env, onIngress)
}

// TestGatewayClassComesAfterItsGateway: a GatewayClass made, or deleted, after its Gateway
// is seen at once, without another change to the API or the Gateway: the token checks go
// on the Gateway when Istio's class appears, and are reported not in force when it goes.
// Each change waits for the operator to settle, so that no straggling reconcile of the API
// (its status echo, its children's events) sees the class instead of the watch.
func TestGatewayClassComesAfterItsGateway(t *testing.T) {
	ctx := context.Background()
	env, ns := startGateways(t)
	updateGateway(t, env, func(gw *gatewayv1.Gateway) { gw.Spec.GatewayClassName = "istio-late" })
	harness.StartOperator(t, env, withChecks(httpRouteOptions("canvas/component-gateway")))

	api := keyVerifiedAPI(ns)
	require.NoError(t, env.Client.Create(ctx, api))
	waitConditionSays(t, env, api, "PoliciesProgrammed", "GatewayClass istio-late of Gateway canvas/component-gateway does not exist")
	waitCondition(t, env, api, "PoliciesProgrammed", false, "PolicyNotEnforced")
	settledReconciles(t, quiet, "exposedapi")

	late := &gatewayv1.GatewayClass{ObjectMeta: metav1.ObjectMeta{Name: "istio-late"},
		Spec: gatewayv1.GatewayClassSpec{ControllerName: "istio.io/gateway-controller"}}
	require.NoError(t, env.Client.Create(ctx, late))
	checksAt(t, env, client.ObjectKey{Namespace: "canvas", Name: ns + ".shop"}, nil,
		[]*typev1beta1.PolicyTargetReference{{Group: "gateway.networking.k8s.io", Kind: "Gateway", Name: "component-gateway"}})
	waitCondition(t, env, api, "PoliciesProgrammed", true, "PoliciesEnforced")
	settledReconciles(t, quiet, "exposedapi")

	require.NoError(t, env.Client.Delete(ctx, late))
	waitConditionSays(t, env, api, "PoliciesProgrammed", "GatewayClass istio-late of Gateway canvas/component-gateway does not exist")
}

// keyVerifiedAPI is API shop on shop.example.com/shop, to implementation impl, whose callers
// must present a token.
func keyVerifiedAPI(ns string) *odav1.ExposedAPI {
	api := harness.API(ns, "shop", "/shop", "impl", 8080)
	api.Spec.Hostname = "shop.example.com"
	api.Spec.APIKeyVerification = &odav1.APIKeyVerification{Enabled: ptr.To(true)}
	return api
}

// TestStreamDestinationRuleOnAnotherImplementation: on a Gateway of another
// implementation's GatewayClass, which never reads Istio's DestinationRules, an mcp API's
// connection pool is not in force for the callers through it: the API says so, and keeps
// its DestinationRule for the callers inside the mesh.
func TestStreamDestinationRuleOnAnotherImplementation(t *testing.T) {
	ctx := context.Background()
	env, ns := startGateways(t)
	require.NoError(t, env.Client.Create(ctx, &gatewayv1.GatewayClass{ObjectMeta: metav1.ObjectMeta{Name: "other"},
		Spec: gatewayv1.GatewayClassSpec{ControllerName: "example.com/other-gateway"}}))
	updateGateway(t, env, func(gw *gatewayv1.Gateway) { gw.Spec.GatewayClassName = "other" })
	harness.StartOperator(t, env, httpRouteOptions("canvas/component-gateway"))

	api := harness.API(ns, "assistant", "/assistant", "impl", 8080)
	api.Spec.APIType = odav1.APITypeMCP
	require.NoError(t, env.Client.Create(ctx, api))
	httpRoute(t, env, api, anyHTTPRoute)
	env.WriteRouteConditionsAs(t, client.ObjectKeyFromObject(api), "example.com/other-gateway",
		harness.RouteCondition(gatewayv1.RouteConditionAccepted, true, "Accepted", ""))
	msg := waitCondition(t, env, api, "PoliciesProgrammed", false, "PolicyNotEnforced")
	assert.Contains(t, msg, "spec.apiType mcp (DestinationRule assistant: connect timeout")
	assert.Contains(t, msg, "for callers inside the mesh only: Gateway canvas/component-gateway is of GatewayClass other, implemented by example.com/other-gateway")
	require.NoError(t, env.Client.Get(ctx, client.ObjectKeyFromObject(api), &networkingv1.DestinationRule{}), "the DestinationRule stays")
}
