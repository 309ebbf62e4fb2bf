package policy

import (
	istioapi "istio.io/api/networking/v1alpha3"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
)

// Settings are the operator-wide choices behind the policies.
type Settings struct {
	Streams   StreamSettings
	Auth      AuthSettings
	RateLimit RateLimitSettings
}

// ApplyToRoute adds to the API's route what its policies ask of the VirtualService.
func (s Settings) ApplyToRoute(route *istioapi.HTTPRoute, spec *odav1.ExposedAPISpec) {
	route.CorsPolicy = CORS(spec.CORS)
	if Streams(spec) {
		streamRoute(route)
	}
	if s.RateLimit.Local(spec) {
		route.Name = RouteName(spec)
	}
}
