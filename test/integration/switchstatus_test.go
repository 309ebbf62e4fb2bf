package integration

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/controller-runtime/pkg/client"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// TestSwitchKeepsTheURLWhileTheVirtualServiceRoutes: while a switch to HTTPRoute mode waits for the Gateway, the VirtualService still routes
// the API: its status should keep the URL it is reachable at.
func TestSwitchKeepsTheURLWhileTheVirtualServiceRoutes(t *testing.T) {
	set := harness.ODA
	ctx := context.Background()
	env := harness.Start(t, set, harness.GatewayAPICRDs(t)...)
	ns := env.Namespace(t, "components")
	env.Gateway(t, "20.0.0.1", "")
	env.ComponentGateway(t, ns, "component-gateway", "30.0.0.1", 80)
	env.Implementation(t, ns, "impl", 8080, true)
	api := harness.API(ns, "shop", "/shop", "impl", 8080)
	require.NoError(t, env.Client.Create(ctx, api))

	op := harness.StartOperator(t, env, harness.DefaultOptions())
	vs := virtualService(t, env, api, routeIs("*", "component-gateway", "/shop", "impl", 8080))
	waitReady(t, env, api, "https://20.0.0.1/shop")
	op.Stop()

	op = harness.StartOperator(t, env, httpRouteOptions("component-gateway"))
	defer op.Stop()
	httpRoute(t, env, api, anyHTTPRoute)
	keeps(t, env, vs, "the VirtualService")
	time.Sleep(2 * time.Second)
	got := &odav1.ExposedAPI{}
	require.NoError(t, env.Client.Get(ctx, client.ObjectKeyFromObject(api), got))
	require.NoError(t, env.Client.Get(ctx, client.ObjectKeyFromObject(vs), vs), "the VirtualService still routes")
	url := ""
	if got.Status.APIStatus != nil {
		url = got.Status.APIStatus.URL
	}
	assert.Equal(t, "https://20.0.0.1/shop", url, "status.apiStatus while VirtualService %s still routes the API (apiStatus %+v)", vs.Name, got.Status.APIStatus)
}
