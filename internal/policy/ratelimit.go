package policy

import (
	"fmt"
	"strconv"

	"google.golang.org/protobuf/types/known/structpb"
	istioapi "istio.io/api/networking/v1alpha3"
	"k8s.io/utils/ptr"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/api/v1/validation"
)

// Rate limit modes (--rate-limit-mode).
const (
	RateLimitOff   = "off"
	RateLimitLocal = "local"
)

// RateLimitModes are the accepted modes.
var RateLimitModes = []string{RateLimitOff, RateLimitLocal}

// RateLimitSettings say how rateLimit is enforced: with local, Envoy's local rate limit on
// the ingress gateway, which Istio offers only through an EnvoyFilter.
type RateLimitSettings struct {
	Mode string
	// HTTPRoutes: the routes are HTTPRoutes, whose routes in Envoy carry no name of ours
	// for an EnvoyFilter to patch, so no local rate limit can be scoped to an API.
	HTTPRoutes bool
}

// RateLimited tells whether the spec asks for a rate limit.
func RateLimited(spec *odav1.ExposedAPISpec) bool {
	return spec.RateLimit != nil && ptr.Deref(spec.RateLimit.Enabled, false)
}

// Enabled tells whether rate limits are programmed on the gateway at all.
func (s RateLimitSettings) Enabled() bool { return s.Mode == RateLimitLocal && !s.HTTPRoutes }

// Local tells whether the spec's rate limit is programmed on the gateway.
func (s RateLimitSettings) Local(spec *odav1.ExposedAPISpec) bool {
	return s.Enabled() && RateLimited(spec) && spec.RateLimit.Limit != ""
}

// RouteName names the API's route in the gateway's configuration, for an EnvoyFilter to
// find: host and path are one API's only (conflicting claims are refused).
func RouteName(spec *odav1.ExposedAPISpec) string {
	host := validation.NormalizeHostname(spec.Hostname)
	if host == "" {
		host = "*"
	}
	return "exposedapi:" + host + spec.Path
}

const localRateLimit = "envoy.filters.http.local_ratelimit"

func typedLocalRateLimit(value map[string]any) map[string]any {
	return map[string]any{
		"@type":    "type.googleapis.com/udpa.type.v1.TypedStruct",
		"type_url": "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit",
		"value":    value,
	}
}

// LocalRateLimitFilter puts Envoy's local rate limit filter into the gateway's HTTP
// filter chain, with no limit of its own: only routes that say so are limited. One for
// the gateway, shared by every API.
func LocalRateLimitFilter(selector map[string]string) *istioapi.EnvoyFilter {
	value, _ := structpb.NewStruct(map[string]any{
		"name":         localRateLimit,
		"typed_config": typedLocalRateLimit(map[string]any{"stat_prefix": "exposedapi_local_rate_limit"}),
	})
	return gatewayPatch(selector, istioapi.EnvoyFilter_HTTP_FILTER,
		&istioapi.EnvoyFilter_EnvoyConfigObjectMatch{ObjectTypes: &istioapi.EnvoyFilter_EnvoyConfigObjectMatch_Listener{Listener: &istioapi.EnvoyFilter_ListenerMatch{
			FilterChain: &istioapi.EnvoyFilter_ListenerMatch_FilterChainMatch{Filter: &istioapi.EnvoyFilter_ListenerMatch_FilterMatch{
				Name:      "envoy.filters.network.http_connection_manager",
				SubFilter: &istioapi.EnvoyFilter_ListenerMatch_SubFilterMatch{Name: "envoy.filters.http.router"},
			}},
		}}},
		&istioapi.EnvoyFilter_Patch{Operation: istioapi.EnvoyFilter_Patch_INSERT_BEFORE, Value: value})
}

// RouteRateLimit limits the API's route to limit requests per interval, counted by each
// gateway replica.
func RouteRateLimit(spec *odav1.ExposedAPISpec, selector map[string]string) (*istioapi.EnvoyFilter, error) {
	n, err := strconv.ParseUint(spec.RateLimit.Limit, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("spec.rateLimit.limit %q: %w", spec.RateLimit.Limit, err)
	}
	all := map[string]any{"runtime_key": "exposedapi_local_rate_limit", "default_value": map[string]any{"numerator": 100, "denominator": "HUNDRED"}}
	value, err := structpb.NewStruct(map[string]any{"typed_per_filter_config": map[string]any{
		localRateLimit: typedLocalRateLimit(map[string]any{
			"stat_prefix":     "exposedapi_local_rate_limit",
			"token_bucket":    map[string]any{"max_tokens": n, "tokens_per_fill": n, "fill_interval": interval(spec.RateLimit.Interval)},
			"filter_enabled":  all,
			"filter_enforced": all,
		}),
	}})
	if err != nil {
		return nil, err
	}
	return gatewayPatch(selector, istioapi.EnvoyFilter_HTTP_ROUTE,
		&istioapi.EnvoyFilter_EnvoyConfigObjectMatch{ObjectTypes: &istioapi.EnvoyFilter_EnvoyConfigObjectMatch_RouteConfiguration{RouteConfiguration: &istioapi.EnvoyFilter_RouteConfigurationMatch{
			Vhost: &istioapi.EnvoyFilter_RouteConfigurationMatch_VirtualHostMatch{
				Route: &istioapi.EnvoyFilter_RouteConfigurationMatch_RouteMatch{Name: RouteName(spec)},
			},
		}}},
		&istioapi.EnvoyFilter_Patch{Operation: istioapi.EnvoyFilter_Patch_MERGE, Value: value}), nil
}

// gatewayPatch is an EnvoyFilter of one patch on the gateway pods selector selects.
func gatewayPatch(selector map[string]string, applyTo istioapi.EnvoyFilter_ApplyTo, match *istioapi.EnvoyFilter_EnvoyConfigObjectMatch,
	patch *istioapi.EnvoyFilter_Patch) *istioapi.EnvoyFilter {
	match.Context = istioapi.EnvoyFilter_GATEWAY
	return &istioapi.EnvoyFilter{
		WorkloadSelector: &istioapi.WorkloadSelector{Labels: selector},
		ConfigPatches: []*istioapi.EnvoyFilter_EnvoyConfigObjectPatch{{
			ApplyTo: applyTo,
			Match:   match,
			Patch:   patch,
		}},
	}
}

// interval is the schema's ps (the default) or pm as an Envoy duration.
func interval(i string) string {
	if i == "pm" {
		return "60s"
	}
	return "1s"
}

// rateLimitFindings say what of the rate limit is in force, beside the EnvoyFilter's own.
func (s RateLimitSettings) findings(spec *odav1.ExposedAPISpec) []Finding {
	if !RateLimited(spec) {
		return nil
	}
	switch {
	case s.Mode == RateLimitLocal && s.HTTPRoutes:
		return []Finding{{"spec.rateLimit", false, "with --route-api=HTTPRoute the local rate limit cannot be scoped to the API's route (Istio's route for an HTTPRoute has no name an EnvoyFilter can patch)"}}
	case s.Mode != RateLimitLocal:
		return []Finding{{"spec.rateLimit", false, "--rate-limit-mode is off: Istio offers a local rate limit only through an EnvoyFilter, which is opt-in (--rate-limit-mode=local)"}}
	case spec.RateLimit.Limit == "":
		return []Finding{{"spec.rateLimit", false, "no limit is given"}}
	case spec.RateLimit.Identifier != "":
		return []Finding{{"spec.rateLimit.identifier", false, "a limit per identifier needs a global rate-limit service, which this operator does not deploy; all callers count together"}}
	}
	return nil
}
