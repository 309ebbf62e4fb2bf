package integration

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// TestPythonVirtualServiceTakenOverByHTTPRoute: on a canvas where the Python operator ran,
// an API's VirtualService carries none of our labels, so the cache cannot show it. In
// HTTPRoute mode it still routes the API until the API's HTTPRoute is accepted, so it is
// guarded on the ingress gateway meanwhile, and then it goes, as one of ours does.
func TestPythonVirtualServiceTakenOverByHTTPRoute(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		ctx := context.Background()
		env := harness.Start(t, set, harness.GatewayAPICRDs(t)...)
		env.Gateway(t, "20.0.0.1", "")
		ns := env.Namespace(t, "components")
		env.ComponentGateway(t, "canvas", "component-gateway", "30.0.0.1", 80)
		env.Implementation(t, ns, "impl", 8080, true)
		api := keyVerifiedAPI(ns)
		require.NoError(t, env.Client.Create(ctx, api))
		python := pythonVirtualService(api, "/shop")
		python.Spec.Hosts = []string{"shop.example.com"}
		require.NoError(t, env.Client.Create(ctx, python))

		harness.StartOperator(t, env, withChecks(httpRouteOptions("canvas/component-gateway")))
		httpRoute(t, env, api, anyHTTPRoute)
		onIngress := client.ObjectKey{Namespace: "istio-system", Name: ns + ".shop"}
		checksAt(t, env, onIngress, gatewayPods, nil)

		env.JudgeRoute(t, client.ObjectKeyFromObject(api), true, "Accepted", "")
		waitReady(t, env, api, "https://shop.example.com/shop")
		noVirtualService(t, env, api)
		checksGone(t, env, onIngress)
	})
}
