package validation

import (
	"fmt"
	"math"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
)

func validateCORS(c *odav1.CORS, fld *field.Path) field.ErrorList {
	if c == nil {
		return nil
	}
	var errs field.ErrorList
	origins := CSV(c.AllowOrigins)
	for _, o := range origins {
		if msg := originProblem(o); msg != "" {
			errs = append(errs, field.Invalid(fld.Child("allowOrigins"), c.AllowOrigins, msg+": "+o))
			break
		}
	}
	errs = append(errs, listsNothing(c.AllowOrigins, fld.Child("allowOrigins"), "origin", "*, any origin")...)
	if ptr.Deref(c.AllowCredentials, false) {
		switch {
		case slices.Contains(origins, "*"):
			errs = append(errs, field.Invalid(fld.Child("allowCredentials"), true,
				"cannot be true while allowOrigins is *: browsers refuse credentials with a wildcard origin"))
		case strings.TrimSpace(c.AllowOrigins) == "" && ptr.Deref(c.Enabled, false):
			errs = append(errs, field.Invalid(fld.Child("allowCredentials"), true,
				"cannot be true while allowOrigins is left out, which allows any origin (*): browsers refuse credentials with a wildcard origin; list the origins"))
		}
	}
	return append(errs, validatePreflight(c.HandlePreflightRequests, fld.Child("handlePreflightRequests"))...)
}

// listsNothing refuses a comma-separated list that is not blank but has no entry (",", " , "):
// a blank one takes the default, this one would give the route an empty list.
func listsNothing(csv string, fld *field.Path, entry, blank string) field.ErrorList {
	if strings.TrimSpace(csv) == "" || len(CSV(csv)) > 0 {
		return nil
	}
	return field.ErrorList{field.Invalid(fld, csv, fmt.Sprintf("lists no %s: give at least one, or leave it out for the default (%s)", entry, blank))}
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
	errs = append(errs, listsNothing(p.AllowMethods, fld.Child("allowMethods"), "method", "GET, POST, HEAD, OPTIONS")...)
	errs = append(errs, listsNothing(p.AllowHeaders, fld.Child("allowHeaders"), "header", "the schema's default headers")...)
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

// Origin is the spec's origin as a browser serialises its Origin header: scheme and host in
// lower case, without the scheme's default port or a trailing "/" (admission allows them),
// so that an exact match can meet it.
func Origin(o string) string {
	o = strings.TrimSuffix(o, "/")
	u, err := url.Parse(o)
	if err != nil || u.Host == "" {
		return o
	}
	scheme, host, port := strings.ToLower(u.Scheme), strings.ToLower(u.Hostname()), u.Port()
	if scheme == "https" && port == "443" || scheme == "http" && port == "80" {
		port = ""
	}
	switch {
	case port != "":
		host = net.JoinHostPort(host, port)
	case strings.Contains(host, ":"):
		host = "[" + host + "]" // an IPv6 address
	}
	return scheme + "://" + host
}

// originProblem says what is wrong with an allowOrigins entry; "" for none. A * elsewhere
// than the host's first label, or a port out of range, is an exact match no browser's
// Origin ever meets.
func originProblem(o string) string {
	if o == "*" {
		return ""
	}
	if !isOrigin(o) {
		return "each comma-separated entry must be * or an origin like https://shop.example.com (scheme and host, no path)"
	}
	u, _ := url.Parse(o)
	host, port := u.Hostname(), u.Port()
	if rest, wild := strings.CutPrefix(host, "*."); strings.Contains(host, "*") && (!wild || rest == "" || strings.Contains(rest, "*")) {
		return "a * can stand only as the first label of an origin's host, as in https://*.example.com (any host under example.com)"
	}
	if n, err := strconv.Atoi(port); port != "" && (err != nil || n < 1 || n > 65535) {
		return "an origin's port must be a number from 1 to 65535"
	}
	return ""
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
