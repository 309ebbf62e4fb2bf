package integration

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/utils/ptr"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// TestGatewayObjectsReadOncePerReconcile: the API's objects on the gateway are read past
// the cache (no watch of them is granted, and the chart grants no list), so each costs
// the API server a request per reconcile. A reconcile that finds nothing to do reads each
// of them once: what Widen read before the route is handed on to Ensure after it, not read
// again. Every API pays this on a wake-up of all of them (a restart, a resync).
func TestGatewayObjectsReadOncePerReconcile(t *testing.T) {
	ctx := context.Background()
	env, ns := startComponents(t, harness.Generated)
	env.Implementation(t, ns, "impl", 8080, true)
	o := harness.DefaultOptions()
	o.JWTIssuer, o.JWKSURI, o.RateLimitMode = issuer, "https://idp.example.com/certs", "local"
	op := harness.StartOperator(t, env, o)
	api := harness.API(ns, "shop", "/shop", "impl", 8080)
	api.Spec.APIKeyVerification = &odav1.APIKeyVerification{Enabled: ptr.To(true)}
	api.Spec.RateLimit = &odav1.RateLimit{Enabled: ptr.To(true), Limit: "10", Interval: "pm"}
	require.NoError(t, env.Client.Create(ctx, api))
	waitReady(t, env, api, "https://20.0.0.1/shop")

	start := settledReconciles(t, quiet, "exposedapi")
	from := len(op.Requests().All())
	for range 5 {
		resync(t, env, api)
	}
	reconciles := int(settledReconciles(t, quiet, "exposedapi") - start)
	gets := map[string]int{}
	for _, r := range op.Requests().All()[from:] {
		if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/namespaces/istio-system/") {
			gets[r.URL.Path[strings.Index(r.URL.Path, "/namespaces/"):]]++
		}
	}
	t.Logf("GETs in the gateway's namespace over %d no-op reconciles: %v", reconciles, gets)
	for _, path := range []string{
		"/namespaces/istio-system/requestauthentications/components.shop",
		"/namespaces/istio-system/authorizationpolicies/components.shop",
		"/namespaces/istio-system/envoyfilters/components.shop",
		"/namespaces/istio-system/envoyfilters/api-operator-istio-local-ratelimit",
	} {
		assert.Equal(t, reconciles, gets[path], "GETs of %s in %d reconciles", path, reconciles)
	}
}
