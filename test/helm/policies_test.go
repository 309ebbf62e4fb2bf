package helm

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestStreamTimeoutsReachTheBinary: the chart's stream timeouts are the binary's defaults,
// and a value set in the chart is what the operator reads.
func TestStreamTimeoutsReachTheBinary(t *testing.T) {
	for _, k := range []string{"API_CONNECT_TIMEOUT", "API_READ_TIMEOUT"} {
		t.Setenv(k, "")
	}
	binary := parseFlags(t)
	for sets, want := range map[string][2]time.Duration{
		"":                         {binary.StreamConnectTimeout, binary.StreamIdleTimeout},
		"streams.connectTimeout=5": {5 * time.Second, binary.StreamIdleTimeout},
		"streams.idleTimeout=3600": {binary.StreamConnectTimeout, time.Hour},
	} {
		var args []string
		if sets != "" {
			args = append(args, sets)
		}
		c := container(t, render(t, args...))
		for _, k := range []string{"API_CONNECT_TIMEOUT", "API_READ_TIMEOUT"} {
			t.Setenv(k, envValue(c, k))
		}
		o := parseFlags(t)
		assert.Equal(t, want, [2]time.Duration{o.StreamConnectTimeout, o.StreamIdleTimeout}, "values %q", sets)
	}
}

// TestGatewayPolicyRBACOnlyWhenConfigured: the chart grants RequestAuthentications and
// AuthorizationPolicies only with an issuer or an ext_authz provider, EnvoyFilters only
// with rateLimitMode local, and only in the gateway's namespace (without it the install
// fails: TestValuesThatCannotWorkTogether).
func TestGatewayPolicyRBACOnlyWhenConfigured(t *testing.T) {
	grants := func(sets ...string) map[string]bool {
		out := map[string]bool{}
		for _, obj := range render(t, sets...) {
			if obj.GetKind() != "Role" && obj.GetKind() != "ClusterRole" {
				continue
			}
			for _, a := range rulesOf(t, obj) {
				if a.Group == "security.istio.io" || a.Resource == "envoyfilters" {
					out[obj.GetKind()+" "+obj.GetNamespace()+" "+a.Resource+" "+a.Verb] = true
				}
			}
		}
		return out
	}
	assert.Empty(t, grants())
	assert.Empty(t, grants("ingressGateway.namespace=istio-system"))
	want := map[string]bool{}
	for _, r := range []string{"requestauthentications", "authorizationpolicies"} {
		for _, v := range []string{"get", "create", "update", "delete"} {
			want["Role istio-system "+r+" "+v] = true
		}
	}
	assert.Equal(t, want, grants("ingressGateway.namespace=istio-system", "apiKeyVerification.jwtIssuer=https://idp.example.com"))
	assert.Equal(t, want, grants("ingressGateway.namespace=istio-system", "apiKeyVerification.authzProvider=ext-authz"))
	assert.Equal(t, map[string]bool{"Role istio-system envoyfilters get": true, "Role istio-system envoyfilters create": true,
		"Role istio-system envoyfilters update": true, "Role istio-system envoyfilters delete": true},
		grants("ingressGateway.namespace=istio-system", "rateLimitMode=local"))
	assert.Empty(t, grants("ingressGateway.namespace=istio-system", "rateLimitMode=local", "routeAPI=HTTPRoute"),
		"no rate limit can be scoped to an HTTPRoute")

	// HTTPRoute mode: beside the Gateway API Gateway (its namespace, or each API's for a
	// bare name), and in the ingress gateway's namespace, when given, for a manual deployment.
	in := func(kind, namespace string, also map[string]bool) map[string]bool {
		out := map[string]bool{}
		for k := range also {
			out[k] = true
		}
		for _, r := range []string{"requestauthentications", "authorizationpolicies"} {
			for _, v := range []string{"get", "create", "update", "delete"} {
				out[kind+" "+namespace+" "+r+" "+v] = true
			}
		}
		return out
	}
	jwt := "apiKeyVerification.jwtIssuer=https://idp.example.com"
	assert.Equal(t, in("Role", releaseNS, nil), grants("routeAPI=HTTPRoute", jwt), "the chart's own Gateway's namespace; no ingress namespace needed")
	assert.Equal(t, in("Role", "gateways", want), grants("routeAPI=HTTPRoute", "componentGateway=gateways/shared", "ingressGateway.namespace=istio-system", jwt))
	assert.Equal(t, in("Role", "components", nil), grants("routeAPI=HTTPRoute", "componentGateway=component-gateway", "watchNamespaces={components}", jwt))
	assert.Equal(t, in("ClusterRole", "", nil), grants("routeAPI=HTTPRoute", "componentGateway=component-gateway", jwt))
}
