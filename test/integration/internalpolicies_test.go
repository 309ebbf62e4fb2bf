package integration

import (
	"context"
	"testing"

	istioapi "istio.io/api/networking/v1alpha3"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/internal/app"
	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// TestInternalAPIPolicies: an API of an internal segment is called inside the mesh, so the
// gateway's policies (token checks, CORS) cannot reach its callers: nothing is made on the
// gateway and PoliciesProgrammed says they are not in force, rather than claiming them.
// Its mesh route still carries the stream settings of an mcp API. Moved to a core segment,
// it gets them all.
func TestInternalAPIPolicies(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		ctx := context.Background()
		env, ns := startWithImplAnd(t, set, func(o *app.Options) {
			o.JWTIssuer, o.JWKSURI = issuer, "https://idp.example.com/certs"
			o.InternalSegments = []string{odav1.SegmentManagement}
		})
		api := harness.API(ns, "events", "/shop/events", "impl", 8080)
		api.Spec.Segment = odav1.SegmentManagement
		api.Spec.APIType = odav1.APITypeMCP
		api.Spec.APIKeyVerification = &odav1.APIKeyVerification{Enabled: ptr.To(true)}
		api.Spec.CORS = &odav1.CORS{Enabled: ptr.To(true)}
		require.NoError(t, env.Client.Create(ctx, api))

		msg := waitCondition(t, env, api, "PoliciesProgrammed", false, "PolicyNotEnforced")
		for _, field := range []string{"spec.CORS", "spec.apiKeyVerification"} {
			assert.Contains(t, msg, field+" (an API of an internal segment is called inside the mesh, not through the ingress gateway")
		}
		requestAuthentication(t, env, "components.events", nil)
		authorizationPolicy(t, env, "components.events", nil)
		vs := istioObject(t, env, &networkingv1.VirtualService{}, client.ObjectKeyFromObject(api),
			func(o *networkingv1.VirtualService) *istioapi.HTTPRetry { return o.Spec.Http[0].GetRetries() },
			&istioapi.HTTPRetry{Attempts: 0})
		assert.Equal(t, []string{"mesh"}, vs.Spec.Gateways)
		assert.Nil(t, vs.Spec.Http[0].CorsPolicy, "no CORS on the mesh route")

		env.UpdateAPI(t, api, func(api *odav1.ExposedAPI) { api.Spec.Segment = odav1.SegmentCore })
		waitCondition(t, env, api, "PoliciesProgrammed", true, "PoliciesEnforced")
		authorizationPolicy(t, env, "components.events", denyWithoutToken(nil, "/shop/events*", "OPTIONS"))
	})
}
