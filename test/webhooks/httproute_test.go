package webhooks

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oda-canvas/api-operator-istio/internal/app"
	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// TestHTTPRouteModeRefusesWhatAnHTTPRouteCannotHold: with --route-api=HTTPRoute, values the
// VirtualService takes but the Gateway API's HTTPRoute CRD refuses are refused at admission,
// naming the field, rather than admitted to a route the API server refuses at every
// reconcile. A disabled CORS block writes nothing to the route, so it is not judged; repeated
// CORS entries, which the route leaves out, are not refused.
func TestHTTPRouteModeRefusesWhatAnHTTPRouteCannotHold(t *testing.T) {
	ctx := context.Background()
	o := harness.DefaultOptions()
	o.RouteAPI = app.HTTPRoute
	env := startWithWebhooksAnd(t, harness.Generated, o)

	cors := func(fields map[string]any) map[string]any {
		c := map[string]any{"enabled": true}
		for k, v := range fields {
			c[k] = v
		}
		return map[string]any{"CORS": c}
	}
	preflight := func(fields map[string]any) map[string]any {
		return cors(map[string]any{"handlePreflightRequests": fields})
	}
	var origins, headers []string
	for i := range 64 {
		origins = append(origins, fmt.Sprintf("https://o%d.example.com", i))
		headers = append(headers, fmt.Sprintf("X-%d", i))
	}
	manyOrigins, manyHeaders := strings.Join(origins, ", "), strings.Join(headers, ", ")
	longPath := "/" + strings.Repeat("a", 1023)
	for _, c := range []badCase{
		{name: "escaped-slash", spec: map[string]any{"path": "/files%2Fv1"},
			want: `spec.path: Invalid value: "/files%2Fv1": cannot hold an escaped '/' (%2F): an HTTPRoute's path match refuses it`},
		{name: "method", spec: preflight(map[string]any{"allowMethods": "GET, PURGE"}),
			want: `spec.CORS.handlePreflightRequests.allowMethods: Unsupported value: "PURGE": supported values: "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "*"`},
		{name: "methods-wildcard", spec: preflight(map[string]any{"allowMethods": "*, GET"}),
			want: `spec.CORS.handlePreflightRequests.allowMethods: Invalid value: "*, GET": cannot hold * beside other entries for an HTTPRoute (2 entries)`},
		{name: "headers-wildcard", spec: preflight(map[string]any{"allowHeaders": "*, X-A"}),
			want: `spec.CORS.handlePreflightRequests.allowHeaders: Invalid value: "*, X-A": cannot hold * beside other entries for an HTTPRoute (2 entries)`},
		{name: "origin", spec: cors(map[string]any{"allowOrigins": "https://shop.example.com, https://a_b.example.com"}),
			want: `spec.CORS.allowOrigins: Invalid value: "https://shop.example.com, https://a_b.example.com": each entry must be *, or a scheme and a host of letters, digits and '-' (its first label may be *), with an optional port, for an HTTPRoute: https://a_b.example.com`},
		{name: "origins-wildcard", spec: cors(map[string]any{"allowOrigins": "*, https://shop.example.com"}),
			want: `spec.CORS.allowOrigins: Invalid value: "*, https://shop.example.com": cannot hold * beside other entries for an HTTPRoute (2 entries)`},
		{name: "origins-many", spec: cors(map[string]any{"allowOrigins": manyOrigins + ", https://o64.example.com"}),
			want: `spec.CORS.allowOrigins: Invalid value: "` + manyOrigins + `, https://o64.example.com": lists 65 different origins, and an HTTPRoute holds at most 64`},
		{name: "headers-many", spec: preflight(map[string]any{"allowHeaders": manyHeaders + ", X-64"}),
			want: `spec.CORS.handlePreflightRequests.allowHeaders: Invalid value: "` + manyHeaders + `, X-64": lists 65 different headers, and an HTTPRoute holds at most 64`},
		{name: "path-long", spec: map[string]any{"path": longPath + "a"},
			want: `spec.path: Too long: may not be more than 1024 bytes for an HTTPRoute's path match (it has 1025)`},
	} {
		err := env.Client.Create(ctx, object(c.name, merged(c.spec), nil))
		require.Error(t, err, c.name)
		assert.Equal(t, `admission webhook "vexposedapi.oda.tmforum.org" denied the request: ExposedAPI.oda.tmforum.org "`+c.name+`" is invalid: `+c.want, err.Error(), c.name)
	}

	good := merged(cors(map[string]any{"allowOrigins": "https://*.example.com, https://shop.example.com:8443/",
		"handlePreflightRequests": map[string]any{"allowMethods": "GET, PUT", "allowHeaders": "Content-Type, X-A"}}))
	require.NoError(t, env.Client.Create(ctx, object("good", good, nil)))
	// Repeats, as written or once normalised, are left out of the route (its CORS lists are
	// sets); what is left fits.
	repeats := merged(map[string]any{"path": longPath, "CORS": map[string]any{"enabled": true,
		"allowOrigins": manyOrigins + ", https://O0.example.com:443, https://o1.example.com/",
		"handlePreflightRequests": map[string]any{"allowMethods": "GET, HEAD, POST, PUT, DELETE, CONNECT, OPTIONS, TRACE, PATCH, GET",
			"allowHeaders": manyHeaders + ", x-0"}}})
	require.NoError(t, env.Client.Create(ctx, object("repeats", repeats, nil)))
	off := merged(map[string]any{"path": "/off", "CORS": map[string]any{"enabled": false, "allowOrigins": "*, https://a.example.com"}})
	require.NoError(t, env.Client.Create(ctx, object("cors-off", off, nil)), "a disabled CORS block is not written to the route")
}
