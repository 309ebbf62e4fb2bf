package helm

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	istioapi "istio.io/api/networking/v1alpha3"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/internal/app"
	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// TestForeignDestinationRuleUnderChartRBAC: an mcp API whose DestinationRule name another
// owner's DestinationRule holds (one without our label, which the cache does not hold)
// reads it directly to name it in the API's status, which takes get on destinationrules.
func TestForeignDestinationRuleUnderChartRBAC(t *testing.T) {
	env := harness.StartEnforcingOwnerReferences(t, harness.Generated, harness.ServiceMonitorCRD(t))
	for _, n := range []string{releaseNS, "components", "istio-system"} {
		env.Namespace(t, n)
	}
	objs := render(t, "certManager.enabled=false", "watchNamespaces={components}", "ingressGateway.namespace=istio-system",
		"webhook.failurePolicy=Ignore", "apiKeyVerification.jwtIssuer="+jwtIssuer, "rateLimitMode=local")
	applyRBAC(t, env, objs)
	cfg := rest.CopyConfig(env.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: chartSA}

	ctx := context.Background()
	env.Gateway(t, "20.0.0.1", "")
	env.Implementation(t, ns, "impl", 8080, true)
	// Somebody else's DestinationRule under the API's name.
	foreign := &networkingv1.DestinationRule{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "mcp"},
		Spec: istioapi.DestinationRule{Host: "impl"}}
	require.NoError(t, env.Client.Create(ctx, foreign))
	api := harness.API(ns, "mcp", "/mcp", "impl", 8080)
	api.Spec.APIType = odav1.APITypeMCP
	require.NoError(t, env.Client.Create(ctx, api))

	op := harness.StartOperatorAs(t, env, cfg, operatorOptions(t, app.ServiceMonitor))
	want := "DestinationRule components/mcp"
	var said string
	harness.Eventually(t, "the API reports the foreign DestinationRule, or a refused request", func() error {
		if f := op.Requests().Forbidden(); len(f) > 0 {
			return nil
		}
		got := &odav1.ExposedAPI{}
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(api), got); err != nil {
			return err
		}
		for _, c := range got.Status.Conditions {
			if strings.Contains(c.Message, want) {
				said = c.Message
				return nil
			}
		}
		return fmt.Errorf("conditions %+v", got.Status.Conditions)
	})
	assert.Empty(t, op.Requests().Forbidden(), "the operator was refused what the chart should grant")
	assert.NotEmpty(t, said, "the API names the DestinationRule in its way")
	// The route itself does not wait on the DestinationRule.
	harness.Eventually(t, "the API's VirtualService", func() error {
		return env.Client.Get(ctx, client.ObjectKeyFromObject(api), &networkingv1.VirtualService{})
	})
}

// TestFormerForeignVirtualServiceInHTTPRouteMode: an API that VirtualService mode left held
// up by another owner's VirtualService (its status says so) is observed, in any route mode,
// by reading that VirtualService directly: in HTTPRoute mode too the chart grants get on
// virtualservices, else the API would wait for ever for its HTTPRoute.
func TestFormerForeignVirtualServiceInHTTPRouteMode(t *testing.T) {
	env := harness.StartEnforcingOwnerReferences(t, harness.Generated, append(harness.GatewayAPICRDs(t), harness.ServiceMonitorCRD(t))...)
	for _, n := range []string{releaseNS, "components", "istio-system"} {
		env.Namespace(t, n)
	}
	objs := render(t, "certManager.enabled=false", "watchNamespaces={components}", "ingressGateway.namespace=istio-system",
		"webhook.failurePolicy=Ignore", "apiKeyVerification.jwtIssuer="+jwtIssuer, "rateLimitMode=local", "routeAPI="+app.HTTPRoute)
	applyRBAC(t, env, objs)
	cfg := rest.CopyConfig(env.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: chartSA}

	ctx := context.Background()
	env.Gateway(t, "20.0.0.1", "")
	env.ComponentGateway(t, releaseNS, "component-gateway", "20.0.0.1", 80)
	env.Implementation(t, ns, "impl", 8080, true)
	foreign := &networkingv1.VirtualService{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "held"}}
	foreign.Spec.Hosts = []string{"other.example.com"}
	require.NoError(t, env.Client.Create(ctx, foreign))
	api := harness.API(ns, "held", "/held", "impl", 8080)
	require.NoError(t, env.Client.Create(ctx, api))
	// The status VirtualService mode wrote for it.
	api.Status.Conditions = []metav1.Condition{{Type: "Ready", Status: metav1.ConditionFalse, Reason: "RouteNotControlled",
		Message:            "VirtualService components/held exists and is not controlled by this ExposedAPI; delete or rename it",
		LastTransitionTime: metav1.Now()}}
	require.NoError(t, env.Client.Status().Update(ctx, api))

	o := operatorOptions(t, app.ServiceMonitor)
	o.RouteAPI = app.HTTPRoute
	op := harness.StartOperatorAs(t, env, cfg, o)
	harness.Eventually(t, "the API's HTTPRoute, or a refused request", func() error {
		if len(op.Requests().Forbidden()) > 0 {
			return nil
		}
		return env.Client.Get(ctx, client.ObjectKeyFromObject(api), &gatewayv1.HTTPRoute{})
	})
	assert.Empty(t, op.Requests().Forbidden(), "the operator was refused what the chart should grant")
	assert.NoError(t, env.Client.Get(ctx, client.ObjectKeyFromObject(api), &gatewayv1.HTTPRoute{}), "the API's HTTPRoute")
}
