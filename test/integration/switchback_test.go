package integration

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// TestSwitchBackWhileTheVirtualServiceIsRefused: restarted in VirtualService mode with its
// VirtualService refused, an API keeps its HTTPRoute, which that mode cannot judge (it
// watches no Gateway): the status says the VirtualService is refused.
func TestSwitchBackWhileTheVirtualServiceIsRefused(t *testing.T) {
	ctx := context.Background()
	env := harness.Start(t, harness.Generated, harness.GatewayAPICRDs(t)...)
	ns := env.Namespace(t, "components")
	env.Gateway(t, "20.0.0.1", "")
	env.ComponentGateway(t, ns, "component-gateway", "30.0.0.1", 80)
	env.Implementation(t, ns, "impl", 8080, true)
	api := harness.API(ns, "refused-shop", "/shop", "impl", 8080) // refuseRoutes refuses its VirtualService
	require.NoError(t, env.Client.Create(ctx, api))

	op := harness.StartOperator(t, env, httpRouteOptions("component-gateway"))
	hr := httpRoute(t, env, api, anyHTTPRoute)
	env.JudgeRoute(t, client.ObjectKeyFromObject(api), true, "Accepted", "")
	waitReady(t, env, api, "https://30.0.0.1/shop")
	op.Stop()

	refuseRoutes(t, env, ns)
	harness.StartOperator(t, env, harness.DefaultOptions())
	waitCondition(t, env, api, "Programmed", false, "RouteRefused")
	keeps(t, env, hr, "the HTTPRoute, while the VirtualService is refused")
}
