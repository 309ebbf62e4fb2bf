package policy

import (
	istioapi "istio.io/api/networking/v1alpha3"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
)

// ApplyToMeshRoute adds to an internal API's route in its Service's mesh VirtualService what
// its policies ask of it there: a long-lived API is not cut by a timeout nor retried by
// the callers' sidecars either.
func ApplyToMeshRoute(route *istioapi.HTTPRoute, spec *odav1.ExposedAPISpec) {
	if Streams(spec) {
		streamRoute(route)
	}
}

// notOnGateway is why a gateway policy is not in force for an internal API.
const notOnGateway = "an API of an internal segment is called inside the mesh, not through the ingress gateway where this operator enforces it"

// InternalReport is Report for an API of an internal segment: CORS, token checks and rate
// limits live on the ingress gateway, which its callers do not pass.
func InternalReport(spec *odav1.ExposedAPISpec) []Finding {
	var out []Finding
	if CORSEnabled(spec.CORS) {
		out = append(out, Finding{"spec.CORS", false, notOnGateway})
	}
	if Streams(spec) {
		out = append(out, Finding{"spec.apiType mcp", true, "no route timeout, no retries on its mesh route"})
	}
	if KeyVerification(spec) {
		out = append(out, Finding{"spec.apiKeyVerification", false, notOnGateway})
	}
	if RateLimited(spec) {
		out = append(out, Finding{"spec.rateLimit", false, notOnGateway})
	}
	return append(out, unenforceable(spec)...)
}
