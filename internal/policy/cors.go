// Package policy translates the policy blocks of an ExposedAPI spec into Istio
// configuration. It decides what is wanted; the controllers write it.
package policy

import (
	"regexp"
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

// origins match each origin as a browser sends it (origin): exactly, "*" any, and a
// subdomain wildcard (https://*.example.com, as the Gateway API's CORS filter has it) any
// host under that domain, which Envoy's exact match would take literally.
func origins(csv string) []*istioapi.StringMatch {
	var out []*istioapi.StringMatch
	for _, o := range validation.CSV(csv) {
		o = validation.Origin(o)
		scheme, domain, wildcard := strings.Cut(o, "://*.")
		switch {
		case o == "*":
			out = append(out, &istioapi.StringMatch{MatchType: &istioapi.StringMatch_Regex{Regex: ".*"}})
		case wildcard:
			re := regexp.QuoteMeta(scheme+"://") + `[^/:]+\.` + regexp.QuoteMeta(domain)
			out = append(out, &istioapi.StringMatch{MatchType: &istioapi.StringMatch_Regex{Regex: re}})
		default:
			out = append(out, &istioapi.StringMatch{MatchType: &istioapi.StringMatch_Exact{Exact: o}})
		}
	}
	return out
}

// wildcardOrigins are the subdomain wildcards among the allowed origins.
func wildcardOrigins(c *odav1.CORS) []string {
	var out []string
	for _, o := range validation.CSV(c.AllowOrigins) {
		if strings.Contains(validation.Origin(o), "://*.") {
			out = append(out, o)
		}
	}
	return out
}

func or(s, def string) string {
	if strings.TrimSpace(s) == "" {
		return def
	}
	return s
}
