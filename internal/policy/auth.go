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

// RequestAuthentication validates the tokens of the issuer where the API's callers put
// them, on the gateway pods selector selects; nil with a Provider, which checks instead.
func (a AuthSettings) RequestAuthentication(spec *odav1.ExposedAPISpec, selector map[string]string) *securityapi.RequestAuthentication {
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
	return &securityapi.RequestAuthentication{
		Selector: &typev1beta1.WorkloadSelector{MatchLabels: selector},
		JwtRules: []*securityapi.JWTRule{rule},
	}
}

// AuthorizationPolicy refuses requests to the API's host and path prefix that carry no
// valid token of the issuer (or sends them to the Provider); CORS preflights pass, as a
// browser sends them without credentials.
func (a AuthSettings) AuthorizationPolicy(spec *odav1.ExposedAPISpec, selector map[string]string) *securityapi.AuthorizationPolicy {
	op := &securityapi.Operation{Hosts: authzHosts(spec.Hostname), Paths: authzPaths(spec.Path), NotMethods: []string{"OPTIONS"}}
	p := &securityapi.AuthorizationPolicy{
		Selector: &typev1beta1.WorkloadSelector{MatchLabels: selector},
		Rules:    []*securityapi.Rule{{To: []*securityapi.Rule_To{{Operation: op}}}},
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

// authzHosts matches the Host header of the API's requests, with or without a port; nil
// for any host. A wildcard host has its one '*' already.
func authzHosts(hostname string) []string {
	h := validation.NormalizeHostname(hostname)
	switch {
	case h == "":
		return nil
	case strings.HasPrefix(h, "*"):
		return []string{h}
	}
	return []string{h, h + ":*"}
}

// authzPaths match what the route's prefix match does: any path that starts with the
// API's path, /shopping under /shop included, so that nothing routed passes unchecked.
func authzPaths(path string) []string {
	return []string{path + "*"}
}
