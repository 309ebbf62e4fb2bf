package validation

import (
	"fmt"
	"math"
	"net/url"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
)

func validateCORS(c *odav1.CORS, fld *field.Path) field.ErrorList {
	if c == nil {
		return nil
	}
	var errs field.ErrorList
	origins := CSV(c.AllowOrigins)
	for _, o := range origins {
		if o != "*" && !isOrigin(o) {
			errs = append(errs, field.Invalid(fld.Child("allowOrigins"), c.AllowOrigins,
				"each comma-separated entry must be * or an origin like https://shop.example.com (scheme and host, no path): "+o))
			break
		}
	}
	if c.AllowCredentials != nil && *c.AllowCredentials && slices.Contains(origins, "*") {
		errs = append(errs, field.Invalid(fld.Child("allowCredentials"), true,
			"cannot be true while allowOrigins is *: browsers refuse credentials with a wildcard origin"))
	}
	return append(errs, validatePreflight(c.HandlePreflightRequests, fld.Child("handlePreflightRequests"))...)
}

// MaxCORSMaxAge is the largest CORS max age in seconds: what the Gateway API's CORS filter
// holds (an int32), and far beyond any browser's own cap.
const MaxCORSMaxAge = math.MaxInt32

func validatePreflight(p *odav1.PreflightRequests, fld *field.Path) field.ErrorList {
	if p == nil {
		return nil
	}
	var errs field.ErrorList
	for _, m := range CSV(p.AllowMethods) {
		if !isToken(m) || strings.ToUpper(m) != m {
			errs = append(errs, field.Invalid(fld.Child("allowMethods"), p.AllowMethods,
				"each comma-separated entry must be an upper-case HTTP method like GET or POST: "+m))
			break
		}
	}
	for _, h := range CSV(p.AllowHeaders) {
		if !isToken(h) {
			errs = append(errs, field.Invalid(fld.Child("allowHeaders"), p.AllowHeaders,
				"each comma-separated entry must be an HTTP header name like Content-Type: "+h))
			break
		}
	}
	switch {
	case p.MaxAge == nil:
	case *p.MaxAge < 0:
		errs = append(errs, field.Invalid(fld.Child("maxAge"), *p.MaxAge, "must be 0 or more seconds"))
	case *p.MaxAge > MaxCORSMaxAge:
		// A larger one overflows the route's duration, which Istio then refuses.
		errs = append(errs, field.Invalid(fld.Child("maxAge"), *p.MaxAge, fmt.Sprintf("must be at most %d seconds", MaxCORSMaxAge)))
	}
	return errs
}

// CSV splits a comma-separated field into its non-empty, trimmed entries.
func CSV(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func isOrigin(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" &&
		(u.Path == "" || u.Path == "/") && u.RawQuery == "" && u.Fragment == "" && u.User == nil
}

// isToken is RFC 9110's token: the characters a method or header name may hold.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(isAlnum(c) || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}
