package policy

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	typev1beta1 "istio.io/api/type/v1beta1"
	"k8s.io/utils/ptr"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
)

var gatewayPods = Attachment{Selector: map[string]string{"istio": "ingressgateway"}}

var (
	jwtAuth      = AuthSettings{Issuer: "https://idp.example.com"}
	providerAuth = AuthSettings{Provider: "ext-authz"}
)

func keyAPI(hostname string) *odav1.ExposedAPISpec {
	return &odav1.ExposedAPISpec{Hostname: hostname, Path: "/shop", APIKeyVerification: &odav1.APIKeyVerification{Enabled: ptr.To(true)}}
}

// istioHostMatches is how Istio matches an operation's hosts against the Host header
// (pilot/pkg/security/authz/matcher/header.go, HostMatcher): case-insensitive, a leading
// '*' a suffix match, a trailing '*' a prefix match, no hosts any host.
func istioHostMatches(hosts []string, header string) bool {
	if len(hosts) == 0 {
		return true
	}
	header = strings.ToLower(header)
	for _, h := range hosts {
		h = strings.ToLower(h)
		switch {
		case h == "*":
			return true
		case strings.HasPrefix(h, "*") && strings.HasSuffix(header, h[1:]),
			strings.HasSuffix(h, "*") && strings.HasPrefix(header, h[:len(h)-1]),
			h == header:
			return true
		}
	}
	return false
}

// The check is scoped to the host the route matches, which the public host name sets
// over the spec's hostname; with any host, no host scopes it.
func TestAuthorizationPolicyHostIsTheRoutes(t *testing.T) {
	for _, auth := range []AuthSettings{jwtAuth, providerAuth} {
		op := auth.AuthorizationPolicy(keyAPI("shop.example.com"), "api.canvas.example", gatewayPods).Rules[0].To[0].Operation
		assert.Equal(t, []string{"api.canvas.example", "api.canvas.example:*"}, op.Hosts)
		for _, header := range []string{"api.canvas.example", "API.canvas.example:443"} {
			assert.True(t, istioHostMatches(op.Hosts, header), header)
		}
		assert.Nil(t, auth.AuthorizationPolicy(keyAPI(""), "*", gatewayPods).Rules[0].To[0].Operation.Hosts)
		assert.Nil(t, auth.AuthorizationPolicy(keyAPI("*"), "*", gatewayPods).Rules[0].To[0].Operation.Hosts)
	}
}

// A wildcard host has no Istio host that also matches it with a port, which the gateway
// routes: the check covers the path on every host instead.
func TestAuthorizationPolicyWildcardHostMissesNoPort(t *testing.T) {
	for _, auth := range []AuthSettings{jwtAuth, providerAuth} {
		op := auth.AuthorizationPolicy(keyAPI("*.example.com"), "*.example.com", gatewayPods).Rules[0].To[0].Operation
		for _, header := range []string{"a.example.com", "a.example.com:443", "a.example.com:8443"} {
			assert.True(t, istioHostMatches(op.Hosts, header), header)
		}
		assert.Equal(t, []string{"/shop*"}, op.Paths)
	}
}

// OPTIONS passes unchecked only where CORS is on, for the browsers' preflights.
func TestAuthorizationPolicyExemptsOptionsOnlyWithCORS(t *testing.T) {
	for _, auth := range []AuthSettings{jwtAuth, providerAuth} {
		spec := keyAPI("shop.example.com")
		assert.Empty(t, auth.AuthorizationPolicy(spec, "shop.example.com", gatewayPods).Rules[0].To[0].Operation.NotMethods, "no CORS block")
		spec.CORS = &odav1.CORS{Enabled: ptr.To(false)}
		assert.Empty(t, auth.AuthorizationPolicy(spec, "shop.example.com", gatewayPods).Rules[0].To[0].Operation.NotMethods, "CORS disabled")
		spec.CORS.Enabled = ptr.To(true)
		assert.Equal(t, []string{"OPTIONS"}, auth.AuthorizationPolicy(spec, "shop.example.com", gatewayPods).Rules[0].To[0].Operation.NotMethods)
	}
}

// On a Gateway API Gateway the checks name it by targetRefs alone: Istio ignores a
// selector on the pods it deploys for a Gateway, and skips a policy that has targetRefs
// on any other pods.
func TestAttachment(t *testing.T) {
	onGateway := Attachment{Gateway: "component-gateway"}
	refs := []*typev1beta1.PolicyTargetReference{{Group: "gateway.networking.k8s.io", Kind: "Gateway", Name: "component-gateway"}}
	for _, auth := range []AuthSettings{jwtAuth, providerAuth} {
		ap := auth.AuthorizationPolicy(keyAPI("shop.example.com"), "shop.example.com", onGateway)
		assert.Nil(t, ap.Selector)
		assert.Equal(t, refs, ap.TargetRefs)
		ap = auth.AuthorizationPolicy(keyAPI("shop.example.com"), "shop.example.com", gatewayPods)
		assert.Equal(t, gatewayPods.Selector, ap.Selector.MatchLabels)
		assert.Nil(t, ap.TargetRefs)
	}
	ra := jwtAuth.RequestAuthentication(keyAPI(""), onGateway)
	assert.Nil(t, ra.Selector)
	assert.Equal(t, refs, ra.TargetRefs)
	ra = jwtAuth.RequestAuthentication(keyAPI(""), gatewayPods)
	assert.Equal(t, gatewayPods.Selector, ra.Selector.MatchLabels)
	assert.Nil(t, ra.TargetRefs)
}
