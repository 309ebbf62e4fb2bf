package integration

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// TestHTTPRouteGatewayPerNamespace: in HTTPRoute mode a componentGateway without a
// namespace is a Gateway in each API's namespace, so the same path in two namespaces is two
// routes on two gateways, not a conflict; each gets its URL once its Gateway accepted it.
func TestHTTPRouteGatewayPerNamespace(t *testing.T) {
	ctx := context.Background()
	env := harness.Start(t, harness.Generated, harness.GatewayAPICRDs(t)...)
	env.Gateway(t, "20.0.0.1", "")
	addresses := map[string]string{"team-a": "30.0.0.1", "team-b": "30.0.0.2"}
	for ns, addr := range addresses {
		env.Namespace(t, ns)
		env.ComponentGateway(t, ns, "component-gateway", addr, 80)
		env.Implementation(t, ns, "catalog", 8080, true)
	}
	harness.StartOperator(t, env, httpRouteOptions("component-gateway"))

	for ns, addr := range addresses {
		api := harness.API(ns, "catalog", "/catalog", "catalog", 8080)
		require.NoError(t, env.Client.Create(ctx, api))
		hr := httpRoute(t, env, api, anyHTTPRoute)
		assert.Equal(t, wantedHTTPRoute(ns, "component-gateway", "/catalog", "catalog", 8080), hr.Spec)
		waitCondition(t, env, api, "Accepted", true, "Valid")
		waitCondition(t, env, api, "Programmed", false, "GatewayNotYetAccepted")
		st := getAPI(t, env, api).Status.APIStatus
		require.NotNil(t, st)
		assert.Equal(t, string(hr.UID), st.UID)
		assert.Empty(t, st.URL, "no URL before the gateway accepts the route: the canvas reads the URL, not Ready")
		env.JudgeRoute(t, client.ObjectKeyFromObject(api), true, "Accepted", "")
		waitReady(t, env, api, "https://"+addr+"/catalog")
	}
}
