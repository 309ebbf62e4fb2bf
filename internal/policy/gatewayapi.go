package policy

import (
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/api/v1/validation"
)

// GatewayCORS is the HTTPRoute rule's CORS filter (standard since Gateway API v1.5) for a
// CORS block, with the same lists and defaults as CORS gives a VirtualService, less repeats
// (the CRD's lists are sets); nil when the block is absent or disabled. A max age of 0
// cannot be said there: it becomes the Gateway API's default of 5 s.
func GatewayCORS(c *odav1.CORS) *gatewayv1.HTTPCORSFilter {
	if !CORSEnabled(c) {
		return nil
	}
	// The CRD stores a left-out maxAge as 5 s: saying so keeps the stored filter equal to
	// the wanted one.
	f := &gatewayv1.HTTPCORSFilter{MaxAge: gatewayDefaultMaxAge}
	if ptr.Deref(c.AllowCredentials, false) {
		f.AllowCredentials = ptr.To(true)
	}
	for _, o := range validation.GatewayOrigins(or(c.AllowOrigins, DefaultAllowOrigins)) {
		f.AllowOrigins = append(f.AllowOrigins, gatewayv1.CORSOrigin(o))
	}
	pre := c.HandlePreflightRequests
	if pre == nil {
		pre = &odav1.PreflightRequests{}
	}
	if !ptr.Deref(pre.Enabled, true) {
		return f
	}
	for _, m := range validation.GatewayMethods(or(pre.AllowMethods, DefaultAllowMethods)) {
		f.AllowMethods = append(f.AllowMethods, gatewayv1.HTTPMethodWithWildcard(m))
	}
	for _, h := range validation.GatewayHeaders(or(pre.AllowHeaders, DefaultAllowHeaders)) {
		f.AllowHeaders = append(f.AllowHeaders, gatewayv1.HTTPHeaderName(h))
	}
	if age := ptr.Deref(pre.MaxAge, DefaultMaxAge); age > 0 {
		f.MaxAge = int32(min(age, 1<<31-1))
	}
	return f
}

// gatewayDefaultMaxAge is the maxAge the HTTPRoute CRD defaults to.
const gatewayDefaultMaxAge = 5

// GatewayTimeouts are the HTTPRoute rule's timeouts: none for a long-lived API (Gateway API
// reads a zero duration as no timeout), else the gateway's own.
func GatewayTimeouts(spec *odav1.ExposedAPISpec) *gatewayv1.HTTPRouteTimeouts {
	if !Streams(spec) {
		return nil
	}
	return &gatewayv1.HTTPRouteTimeouts{Request: ptr.To(gatewayv1.Duration("0s"))}
}
