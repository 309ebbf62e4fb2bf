package policy

import (
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
)

// A max age of 0 (do not cache) cannot be an Istio duration, which must be 1ms or more.
func TestCORSMaxAgeZeroLeavesTheHeaderOut(t *testing.T) {
	p := CORS(&odav1.CORS{Enabled: ptr.To(true), HandlePreflightRequests: &odav1.PreflightRequests{MaxAge: ptr.To[int64](0)}})
	if p == nil || p.MaxAge != nil {
		t.Fatalf("corsPolicy %v, want one without maxAge", p)
	}
}

func TestCORSAnyOriginBesideExactOnes(t *testing.T) {
	p := CORS(&odav1.CORS{Enabled: ptr.To(true), AllowOrigins: "https://a.example, *"})
	if len(p.AllowOrigins) != 2 || p.AllowOrigins[0].GetExact() != "https://a.example" || p.AllowOrigins[1].GetRegex() != ".*" {
		t.Fatalf("allowOrigins %v, want exact https://a.example and regex .*", p.AllowOrigins)
	}
}

// Origins are matched as browsers send them: lower case, no default port, no trailing "/";
// a subdomain wildcard matches the hosts under it (Envoy's regex is a full match, as
// anchored here), and nothing else.
func TestCORSOriginsAsBrowsersSendThem(t *testing.T) {
	p := CORS(&odav1.CORS{Enabled: ptr.To(true), AllowOrigins: "HTTPS://Shop.Example.com:443/, http://a.example:80, http://a.example:8080, https://[2001:DB8::1]:443, https://*.Example.com"})
	var exact []string
	for _, m := range p.AllowOrigins[:4] {
		exact = append(exact, m.GetExact())
	}
	assert.Equal(t, []string{"https://shop.example.com", "http://a.example", "http://a.example:8080", "https://[2001:db8::1]"}, exact)
	wildcard := regexp.MustCompile("^(?:" + p.AllowOrigins[4].GetRegex() + ")$")
	for origin, want := range map[string]bool{
		"https://a.example.com": true, "https://a.b.example.com": true,
		"https://example.com": false, "http://a.example.com": false, "https://a.example.com:8443": false,
		"https://a.example.com.evil.io": false, "https://evil-example.com": false,
	} {
		assert.Equal(t, want, wildcard.MatchString(origin), origin)
	}
	f := GatewayCORS(&odav1.CORS{Enabled: ptr.To(true), AllowOrigins: "HTTPS://Shop.Example.com:443/, https://*.Example.com"})
	assert.Equal(t, []gatewayv1.CORSOrigin{"https://shop.example.com", "https://*.example.com"}, f.AllowOrigins)
}

// Istio takes an HTTPRoute's CORS origins literally: a wildcard there is reported not in
// force, and on a VirtualService it is not.
func TestWildcardOriginReportedOnHTTPRoutes(t *testing.T) {
	spec := &odav1.ExposedAPISpec{CORS: &odav1.CORS{Enabled: ptr.To(true), AllowOrigins: "https://a.example, https://*.example.com"}}
	byField := func(s Settings) map[string]bool {
		out := map[string]bool{}
		for _, f := range Report(spec, s) {
			out[f.Field] = f.Enforced
		}
		return out
	}
	assert.Equal(t, map[string]bool{"spec.CORS": true}, byField(Settings{}))
	assert.Equal(t, map[string]bool{"spec.CORS": true, "spec.CORS.allowOrigins": false}, byField(Settings{RateLimit: RateLimitSettings{HTTPRoutes: true}}))
}
