package integration

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// TestHTTPRoutePolicies: in HTTPRoute mode an API's CORS block is the rule's CORS filter
// (the schema's defaults as for a VirtualService) and an mcp API's rule has no request
// timeout; the stored route equals the wanted one, so a resync writes nothing; the filter
// goes with the block.
func TestHTTPRoutePolicies(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		ctx := context.Background()
		env := harness.Start(t, set, harness.GatewayAPICRDs(t)...)
		ns := env.Namespace(t, "components")
		env.ComponentGateway(t, "canvas", "component-gateway", "30.0.0.1", 80)
		env.Implementation(t, ns, "mcp", 8080, true)
		op := harness.StartOperator(t, env, httpRouteOptions("canvas/component-gateway"))

		api := harness.API(ns, "assistant", "/assistant", "mcp", 8080)
		api.Spec.APIType = odav1.APITypeMCP
		api.Spec.CORS = &odav1.CORS{Enabled: ptr.To(true), AllowOrigins: "https://app.example.com"}
		require.NoError(t, env.Client.Create(ctx, api))

		want := []gatewayv1.HTTPRouteFilter{{Type: gatewayv1.HTTPRouteFilterCORS, CORS: &gatewayv1.HTTPCORSFilter{
			AllowOrigins: []gatewayv1.CORSOrigin{"https://app.example.com"},
			AllowMethods: []gatewayv1.HTTPMethodWithWildcard{"GET", "POST", "HEAD", "OPTIONS"},
			AllowHeaders: []gatewayv1.HTTPHeaderName{"Origin", "Accept", "X-Requested-With", "Content-Type",
				"Access-Control-Request-Method", "Access-Control-Request-Headers"},
			MaxAge: 1800,
		}}}
		hr := httpRoute(t, env, api, func(hr *gatewayv1.HTTPRoute) error {
			if !equality.Semantic.DeepEqual(hr.Spec.Rules[0].Filters, want) {
				return fmt.Errorf("filters %+v", hr.Spec.Rules[0].Filters)
			}
			return nil
		})
		assert.Equal(t, &gatewayv1.HTTPRouteTimeouts{Request: ptr.To(gatewayv1.Duration("0s"))}, hr.Spec.Rules[0].Timeouts, "no request timeout")
		env.JudgeRoute(t, client.ObjectKeyFromObject(api), true, "Accepted", "")
		assert.Contains(t, waitCondition(t, env, api, "PoliciesProgrammed", true, "PoliciesEnforced"), "spec.CORS (CORS filter on the HTTPRoute)")
		api = waitReady(t, env, api, "https://30.0.0.1/assistant")
		assertNoWritesOnResync(t, env, op, api)

		env.UpdateAPI(t, api, func(a *odav1.ExposedAPI) { a.Spec.CORS.Enabled = ptr.To(false) })
		httpRoute(t, env, api, func(hr *gatewayv1.HTTPRoute) error {
			if len(hr.Spec.Rules[0].Filters) > 0 {
				return fmt.Errorf("filters %+v", hr.Spec.Rules[0].Filters)
			}
			return nil
		})
	})
}
