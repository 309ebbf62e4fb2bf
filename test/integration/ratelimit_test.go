package integration

import (
	"context"
	"fmt"
	"testing"
	"time"

	istioapi "istio.io/api/networking/v1alpha3"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	networkingv1alpha3 "istio.io/client-go/pkg/apis/networking/v1alpha3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/internal/app"
	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// envoyFilterSpec reads an EnvoyFilter spec written as Istio's documentation writes one.
func envoyFilterSpec(t *testing.T, y string) *istioapi.EnvoyFilter {
	t.Helper()
	ef := &networkingv1alpha3.EnvoyFilter{}
	require.NoError(t, yaml.Unmarshal([]byte(y), ef))
	return &ef.Spec
}

func envoyFilter(t *testing.T, env *harness.Env, name string, want *istioapi.EnvoyFilter) *networkingv1alpha3.EnvoyFilter {
	t.Helper()
	return istioObject(t, env, &networkingv1alpha3.EnvoyFilter{}, client.ObjectKey{Namespace: "istio-system", Name: name},
		func(o *networkingv1alpha3.EnvoyFilter) *istioapi.EnvoyFilter { return &o.Spec }, want)
}

const sharedFilter = `
spec:
  workloadSelector: {labels: {istio: ingressgateway}}
  configPatches:
  - applyTo: HTTP_FILTER
    match:
      context: GATEWAY
      listener:
        filterChain:
          filter:
            name: envoy.filters.network.http_connection_manager
            subFilter: {name: envoy.filters.http.router}
    patch:
      operation: INSERT_BEFORE
      value:
        name: envoy.filters.http.local_ratelimit
        typed_config:
          "@type": type.googleapis.com/udpa.type.v1.TypedStruct
          type_url: type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit
          value: {stat_prefix: exposedapi_local_rate_limit}
`

func routeLimit(route string, tokens int, fill string) string {
	return fmt.Sprintf(`
spec:
  workloadSelector: {labels: {istio: ingressgateway}}
  configPatches:
  - applyTo: HTTP_ROUTE
    match:
      context: GATEWAY
      routeConfiguration:
        vhost:
          route: {name: %q}
    patch:
      operation: MERGE
      value:
        typed_per_filter_config:
          envoy.filters.http.local_ratelimit:
            "@type": type.googleapis.com/udpa.type.v1.TypedStruct
            type_url: type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit
            value:
              stat_prefix: exposedapi_local_rate_limit
              token_bucket: {max_tokens: %d, tokens_per_fill: %d, fill_interval: %s}
              filter_enabled: {runtime_key: exposedapi_local_rate_limit, default_value: {numerator: 100, denominator: HUNDRED}}
              filter_enforced: {runtime_key: exposedapi_local_rate_limit, default_value: {numerator: 100, denominator: HUNDRED}}
`, route, tokens, tokens, fill)
}

func routeNamed(name string) func(*networkingv1.VirtualService) error {
	return func(vs *networkingv1.VirtualService) error {
		if got := vs.Spec.Http[0].Name; got != name {
			return fmt.Errorf("route name %q, want %q", got, name)
		}
		return nil
	}
}

// TestLocalRateLimit: with --rate-limit-mode=local, rateLimit becomes Envoy's local rate
// limit on the API's route at the ingress gateway (an EnvoyFilter in the gateway's
// namespace, and the gateway's shared one that adds the filter), updated with the spec
// and removed with the block or the API; an identifier is reported as not enforced.
func TestLocalRateLimit(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		ctx := context.Background()
		env, ns := startWithImplAnd(t, set, func(o *app.Options) { o.RateLimitMode = "local" })
		createOther(t, env, ns)
		api := harness.API(ns, "shop", "/shop", "impl", 8080)
		api.Spec.Hostname = "shop.example.com"
		api.Spec.RateLimit = &odav1.RateLimit{Enabled: ptr.To(true), Limit: "10", Interval: "pm"}
		require.NoError(t, env.Client.Create(ctx, api))

		virtualService(t, env, api, routeNamed("exposedapi:shop.example.com/shop"))
		envoyFilter(t, env, "components.shop", envoyFilterSpec(t, routeLimit("exposedapi:shop.example.com/shop", 10, "60s")))
		envoyFilter(t, env, "api-operator-istio-local-ratelimit", envoyFilterSpec(t, sharedFilter))
		assert.Equal(t, "enforced: spec.rateLimit (EnvoyFilter istio-system/components.shop: 10 requests per minute, counted by each ingress gateway replica)",
			waitCondition(t, env, api, "PoliciesProgrammed", true, "PoliciesEnforced"))

		env.UpdateAPI(t, api, func(api *odav1.ExposedAPI) {
			api.Spec.RateLimit.Limit, api.Spec.RateLimit.Interval, api.Spec.RateLimit.Identifier = "5", "", "consumer"
		})
		envoyFilter(t, env, "components.shop", envoyFilterSpec(t, routeLimit("exposedapi:shop.example.com/shop", 5, "1s")))
		assert.Contains(t, waitCondition(t, env, api, "PoliciesProgrammed", false, "PolicyNotEnforced"),
			"not enforced: spec.rateLimit.identifier (a limit per identifier needs a global rate-limit service, which this operator does not deploy; all callers count together)")

		envoyFilter(t, env, "components.other", nil)

		env.UpdateAPI(t, api, func(api *odav1.ExposedAPI) { api.Spec.RateLimit.Enabled = ptr.To(false) })
		envoyFilter(t, env, "components.shop", nil)
		virtualService(t, env, api, routeNamed(""))
		waitCondition(t, env, api, "PoliciesProgrammed", true, "NoPolicies")

		env.UpdateAPI(t, api, func(api *odav1.ExposedAPI) { api.Spec.RateLimit.Enabled = ptr.To(true) })
		envoyFilter(t, env, "components.shop", envoyFilterSpec(t, routeLimit("exposedapi:shop.example.com/shop", 5, "1s")))
		require.NoError(t, env.Client.Delete(ctx, api))
		envoyFilter(t, env, "components.shop", nil)
		envoyFilter(t, env, "api-operator-istio-local-ratelimit", envoyFilterSpec(t, sharedFilter))
	})
}

// TestForeignSharedRateLimitFilter: the routes' local rate limits work only while the
// gateway's shared EnvoyFilter puts Envoy's local rate limit filter in its HTTP chain. One
// of that name that is not the operator's is left alone and named, the limit reported not
// in force, and a new route waits for it as for the API's own filter; once it goes, the
// operator's takes its place.
func TestForeignSharedRateLimitFilter(t *testing.T) {
	ctx := context.Background()
	env, ns := startWithImplAnd(t, harness.Generated, func(o *app.Options) { o.RateLimitMode, o.RefusedRetry = "local", time.Second })
	foreign := &networkingv1alpha3.EnvoyFilter{ObjectMeta: metav1.ObjectMeta{Namespace: "istio-system", Name: "api-operator-istio-local-ratelimit"}}
	require.NoError(t, env.Client.Create(ctx, foreign))

	api := harness.API(ns, "shop", "/shop", "impl", 8080)
	api.Spec.RateLimit = &odav1.RateLimit{Enabled: ptr.To(true), Limit: "10"}
	require.NoError(t, env.Client.Create(ctx, api))
	envoyFilter(t, env, ns+".shop", envoyFilterSpec(t, routeLimit("exposedapi:*/shop", 10, "1s")))

	msg := waitCondition(t, env, api, "PoliciesProgrammed", false, "PolicyNotEnforced")
	assert.Contains(t, msg, "spec.rateLimit (EnvoyFilter istio-system/api-operator-istio-local-ratelimit exists and is not controlled by this ExposedAPI")
	msg = waitCondition(t, env, api, "Programmed", false, "RouteGuardsUnwritten")
	assert.Contains(t, msg, "EnvoyFilter istio-system/api-operator-istio-local-ratelimit exists", "a new route waits for the shared filter")
	require.NoError(t, env.Client.Get(ctx, client.ObjectKeyFromObject(foreign), foreign))
	assert.Empty(t, foreign.Labels, "the foreign filter is left as it was")
	assert.Empty(t, foreign.Spec.ConfigPatches, "the foreign filter is left as it was")

	require.NoError(t, env.Client.Delete(ctx, foreign))
	envoyFilter(t, env, "api-operator-istio-local-ratelimit", envoyFilterSpec(t, sharedFilter))
	waitCondition(t, env, api, "PoliciesProgrammed", true, "PoliciesEnforced")
	waitCondition(t, env, api, "Ready", true, "Ready")
}
