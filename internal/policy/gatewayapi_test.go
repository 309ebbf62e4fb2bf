package policy

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
)

func TestGatewayCORS(t *testing.T) {
	assert.Nil(t, GatewayCORS(nil), "absent")
	assert.Nil(t, GatewayCORS(&odav1.CORS{Enabled: ptr.To(false)}), "disabled")

	assert.Equal(t, &gatewayv1.HTTPCORSFilter{
		AllowOrigins: []gatewayv1.CORSOrigin{"*"},
		AllowMethods: []gatewayv1.HTTPMethodWithWildcard{"GET", "POST", "HEAD", "OPTIONS"},
		AllowHeaders: []gatewayv1.HTTPHeaderName{"Origin", "Accept", "X-Requested-With", "Content-Type",
			"Access-Control-Request-Method", "Access-Control-Request-Headers"},
		MaxAge: 1800,
	}, GatewayCORS(&odav1.CORS{Enabled: ptr.To(true)}), "the schema's defaults")

	assert.Equal(t, &gatewayv1.HTTPCORSFilter{
		AllowOrigins:     []gatewayv1.CORSOrigin{"https://a.example", "https://b.example"},
		AllowCredentials: ptr.To(true),
		MaxAge:           5,
	}, GatewayCORS(&odav1.CORS{Enabled: ptr.To(true), AllowOrigins: "https://a.example/, https://b.example", AllowCredentials: ptr.To(true),
		HandlePreflightRequests: &odav1.PreflightRequests{Enabled: ptr.To(false)}}), "origins split, preflight answers off")

	repeats := &odav1.CORS{Enabled: ptr.To(true), AllowOrigins: "https://A.example, http://b.example, https://a.example:443, https://a.example/",
		HandlePreflightRequests: &odav1.PreflightRequests{AllowMethods: "GET, POST, GET", AllowHeaders: "Content-Type, X-Id, content-type"}}
	assert.Equal(t, &gatewayv1.HTTPCORSFilter{
		AllowOrigins: []gatewayv1.CORSOrigin{"https://a.example", "http://b.example"},
		AllowMethods: []gatewayv1.HTTPMethodWithWildcard{"GET", "POST"},
		AllowHeaders: []gatewayv1.HTTPHeaderName{"Content-Type", "X-Id"},
		MaxAge:       1800,
	}, GatewayCORS(repeats), "repeats left out, once normalised and whatever a header's case: the CRD's lists are sets")
	vs := CORS(repeats)
	assert.Len(t, vs.AllowOrigins, 4, "a VirtualService's lists are as written")
	assert.Len(t, vs.AllowMethods, 3, "a VirtualService's lists are as written")
}

func TestGatewayTimeouts(t *testing.T) {
	assert.Nil(t, GatewayTimeouts(&odav1.ExposedAPISpec{APIType: odav1.APITypeOpenAPI}))
	assert.Equal(t, ptr.To(gatewayv1.Duration("0s")), GatewayTimeouts(&odav1.ExposedAPISpec{APIType: odav1.APITypeMCP}).Request, "no timeout")
}
