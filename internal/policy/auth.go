package policy

import (
	"strings"

	securityapi "istio.io/api/security/v1beta1"
	typev1beta1 "istio.io/api/type/v1beta1"
	"k8s.io/utils/ptr"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/api/v1/validation"
)

// AuthSettings say how the ingress gateway checks the callers of an API with
// apiKeyVerification: a JWT from Issuer (keys at JWKSURI, or found by OIDC discovery when
// empty), or, with Provider, the mesh's ext_authz provider of that name.
type AuthSettings struct {
	Issuer   string
	JWKSURI  string
	Provider string
}

// Enabled tells whether the operator can check tokens at all.
func (a AuthSettings) Enabled() bool { return a.Issuer != "" || a.Provider != "" }

// KeyVerification tells whether the spec asks for its callers to be checked.
func KeyVerification(spec *odav1.ExposedAPISpec) bool {
	return spec.APIKeyVerification != nil && ptr.Deref(spec.APIKeyVerification.Enabled, false)
}

// Attachment says which gateway pods a token check applies to: those Selector selects (an
// Istio ingress gateway), or, with Gateway set, the pods Istio deploys for the Gateway API
// Gateway of that name in the check's own namespace, named by targetRefs as istioctl
// advises (IST0166): they lack the ingress gateway's labels.
type Attachment struct {
	Selector map[string]string
	Gateway  string
}

func (at Attachment) selector() *typev1beta1.WorkloadSelector {
	if at.Gateway != "" {
		return nil
	}
	return &typev1beta1.WorkloadSelector{MatchLabels: at.Selector}
}

func (at Attachment) targetRefs() []*typev1beta1.PolicyTargetReference {
	if at.Gateway == "" {
		return nil
	}
	return []*typev1beta1.PolicyTargetReference{{Group: "gateway.networking.k8s.io", Kind: "Gateway", Name: at.Gateway}}
}

// RequestAuthentication validates the tokens of the issuer where the API's callers put
// them, on the gateway pods of at; nil with a Provider, which checks instead.
func (a AuthSettings) RequestAuthentication(spec *odav1.ExposedAPISpec, at Attachment) *securityapi.RequestAuthentication {
	if a.Provider != "" {
		return nil
	}
	rule := &securityapi.JWTRule{Issuer: a.Issuer, JwksUri: a.JWKSURI, ForwardOriginalToken: true}
	switch loc := spec.APIKeyVerification.Location; {
	case strings.HasPrefix(loc, "?"):
		rule.FromParams = []string{loc[1:]}
	case loc != "" && !strings.EqualFold(loc, "Authorization"):
		rule.FromHeaders = []*securityapi.JWTHeader{{Name: loc}}
	}
	// Empty or Authorization: Istio's default, the Authorization header's bearer token.
	return &securityapi.RequestAuthentication{Selector: at.selector(), TargetRefs: at.targetRefs(), JwtRules: []*securityapi.JWTRule{rule}}
}

// AuthorizationPolicy refuses requests to host and the API's path prefix that carry no
// valid token of the issuer (or sends them to the Provider); host is the route's
// (routes.Route.Host), not spec.hostname, which a public host name overrides.
func (a AuthSettings) AuthorizationPolicy(spec *odav1.ExposedAPISpec, host string, at Attachment) *securityapi.AuthorizationPolicy {
	op := &securityapi.Operation{Hosts: authzHosts(host), Paths: authzPaths(spec.Path), NotMethods: authzNotMethods(spec)}
	p := &securityapi.AuthorizationPolicy{
		Selector:   at.selector(),
		TargetRefs: at.targetRefs(),
		Rules:      []*securityapi.Rule{{To: []*securityapi.Rule_To{{Operation: op}}}},
	}
	if a.Provider != "" {
		p.Action = securityapi.AuthorizationPolicy_CUSTOM
		p.ActionDetail = &securityapi.AuthorizationPolicy_Provider{Provider: &securityapi.AuthorizationPolicy_ExtensionProvider{Name: a.Provider}}
		return p
	}
	p.Action = securityapi.AuthorizationPolicy_DENY
	p.Rules[0].From = []*securityapi.Rule_From{{Source: &securityapi.Source{NotRequestPrincipals: []string{a.Issuer + "/*"}}}}
	return p
}

// WildcardHost tells whether the route's host is a wildcard (*.example.com), which the
// token checks cannot scope to: see authzHosts.
func WildcardHost(host string) bool {
	return strings.HasPrefix(validation.NormalizeHostname(host), "*.")
}

// authzHosts match the Host header of the route's requests, with or without a port; nil,
// any host, when the route takes any host, and for a wildcard, whose suffix match
// (.example.com) a Host of a.example.com:443 escapes while the gateway, which ignores the
// port, still routes it (istio/istio#44080): no Istio host says "suffix with any port", so
// the path alone scopes the check rather than let such requests pass unchecked.
func authzHosts(host string) []string {
	h := validation.NormalizeHostname(host)
	if h == "" || WildcardHost(h) {
		return nil
	}
	return []string{h, h + ":*"}
}

// authzNotMethods exempt OPTIONS only for an API with CORS: browsers send its preflights
// without credentials. Without CORS nothing answers an OPTIONS before the backend, so it
// is checked like any other method.
func authzNotMethods(spec *odav1.ExposedAPISpec) []string {
	if CORSEnabled(spec.CORS) {
		return []string{"OPTIONS"}
	}
	return nil
}

// authzPaths match what the route's prefix match does: any path that starts with the
// API's path, /shopping under /shop included, so that nothing routed passes unchecked.
func authzPaths(path string) []string {
	return []string{path + "*"}
}
