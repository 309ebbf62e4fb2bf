// Package policy translates the policy blocks of an ExposedAPI spec into Istio
// configuration. It decides what is wanted; the controllers write it.
package policy

import (
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
	istioapi "istio.io/api/networking/v1alpha3"
	"k8s.io/utils/ptr"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/api/v1/validation"
)

// The defaults the ExposedAPI schema documents for an enabled CORS block.
const (
	DefaultAllowOrigins = "*"
	DefaultAllowMethods = "GET, POST, HEAD, OPTIONS"
	DefaultAllowHeaders = "Origin, Accept, X-Requested-With, Content-Type, Access-Control-Request-Method, Access-Control-Request-Headers"
	DefaultMaxAge       = 1800
)

// CORSEnabled tells whether the spec asks for CORS.
func CORSEnabled(c *odav1.CORS) bool {
	return c != nil && ptr.Deref(c.Enabled, false)
}

// CORS is the route's corsPolicy for a CORS block, or nil when it is absent or disabled.
func CORS(c *odav1.CORS) *istioapi.CorsPolicy {
	if !CORSEnabled(c) {
		return nil
	}
	p := &istioapi.CorsPolicy{
		AllowOrigins:     origins(or(c.AllowOrigins, DefaultAllowOrigins)),
		AllowCredentials: wrapperspb.Bool(ptr.Deref(c.AllowCredentials, false)),
	}
	pre := c.HandlePreflightRequests
	if pre == nil {
		pre = &odav1.PreflightRequests{}
	}
	if !ptr.Deref(pre.Enabled, true) {
		// Envoy still answers a preflight from an allowed origin; without methods, headers
		// and max age the answer allows only what a simple request may do.
		return p
	}
	p.AllowMethods = validation.CSV(or(pre.AllowMethods, DefaultAllowMethods))
	p.AllowHeaders = validation.CSV(or(pre.AllowHeaders, DefaultAllowHeaders))
	// Istio refuses a max age under 1ms: 0 (do not cache) leaves the header out, which
	// browsers read as a few seconds at most.
	if age := ptr.Deref(pre.MaxAge, DefaultMaxAge); age > 0 {
		p.MaxAge = durationpb.New(time.Duration(age) * time.Second)
	}
	return p
}

// origins are exact matches of each origin, "*" matching any. A browser's Origin header
// has no path, so a trailing "/" the spec allows is dropped.
func origins(csv string) []*istioapi.StringMatch {
	var out []*istioapi.StringMatch
	for _, o := range validation.CSV(csv) {
		if o == "*" {
			out = append(out, &istioapi.StringMatch{MatchType: &istioapi.StringMatch_Regex{Regex: ".*"}})
			continue
		}
		out = append(out, &istioapi.StringMatch{MatchType: &istioapi.StringMatch_Exact{Exact: strings.TrimSuffix(o, "/")}})
	}
	return out
}

func or(s, def string) string {
	if strings.TrimSpace(s) == "" {
		return def
	}
	return s
}
