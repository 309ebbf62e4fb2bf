package policy

import (
	"fmt"
	"strings"

	"k8s.io/utils/ptr"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
)

// Finding says of one policy field the user asked for whether it is in force, and how or
// why not.
type Finding struct {
	Field    string
	Enforced bool
	Detail   string
}

// Text is the finding as the condition and the events say it.
func (f Finding) Text() string { return f.Field + " (" + f.Detail + ")" }

// Report lists the policy fields the spec asks for that live in the route, or that this
// operator cannot enforce; the controllers add the findings of the objects they make.
func Report(spec *odav1.ExposedAPISpec, s Settings) []Finding {
	var out []Finding
	if CORSEnabled(spec.CORS) {
		out = append(out, Finding{"spec.CORS", true, s.routeSays("corsPolicy on the route", "CORS filter on the HTTPRoute")})
		if w := wildcardOrigins(spec.CORS); len(w) > 0 && s.RateLimit.HTTPRoutes {
			// istio/istio's Gateway API conversion matches each origin exactly (gateway-api#3648).
			out = append(out, Finding{"spec.CORS.allowOrigins", false, fmt.Sprintf(
				"Istio matches an HTTPRoute's CORS origins exactly, so %s matches no browser's Origin: list the origins, or use VirtualService routes", strings.Join(w, ", "))})
		}
	}
	if Streams(spec) {
		out = append(out, Finding{"spec.apiType mcp", true, s.routeSays("no route timeout, no retries",
			"no request timeout on the HTTPRoute; the standard HTTPRoute cannot turn the gateway's retries off")})
	}
	out = append(out, s.RateLimit.findings(spec)...)
	return append(out, unenforceable(spec)...)
}

// unenforceable are the fields Istio has nothing for.
func unenforceable(spec *odav1.ExposedAPISpec) []Finding {
	var out []Finding
	if v := spec.OASValidation; v != nil && (ptr.Deref(v.RequestEnabled, false) || ptr.Deref(v.ResponseEnabled, false)) {
		out = append(out, Finding{"spec.OASValidation", false,
			"Istio cannot validate requests or responses against an OpenAPI document"})
	}
	if q := spec.Quota; q != nil && (q.Limit != "" || q.Identifier != "") {
		out = append(out, Finding{"spec.quota", false,
			"a quota needs a global rate-limit service, which this operator does not deploy"})
	}
	if strings.TrimSpace(spec.Template) != "" {
		out = append(out, Finding{"spec.template", false,
			"a template is the URL of Kong or APISIX plugin manifests; Istio has no such plugins"})
	}
	return out
}

// routeSays is what the route holds, as a VirtualService or as an HTTPRoute.
func (s Settings) routeSays(virtualService, httpRoute string) string {
	if s.RateLimit.HTTPRoutes {
		return httpRoute
	}
	return virtualService
}
