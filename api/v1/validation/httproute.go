package validation

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
)

// The Gateway API's CORS methods, and the pattern its CRD gives an origin (v1.6
// HTTPMethodWithWildcard and CORSOrigin).
var (
	gatewayMethods = []string{"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "*"}
	gatewayOrigin  = regexp.MustCompile(`(^\*$)|(^(http(s)?):\/\/(((\*\.)?([a-zA-Z0-9\-]+\.)*[a-zA-Z0-9-]+|\*)(:([0-9]{1,5}))?)$)`)
)

// What an HTTPRoute holds at most (v1.6 CRD): CORS origins and headers (each list a set,
// so counted once each), the characters of an origin and of a header name, and the bytes of
// a path match. Its nine methods need no count: a tenth distinct one is not supported, or a
// * beside others, both refused.
const (
	maxGatewayOrigins      = 64
	maxGatewayHeaders      = 64
	maxGatewayOriginLength = 253
	maxGatewayHeaderLength = 256
	maxGatewayPathLength   = 1024
)

// GatewayOrigins are the origins of an HTTPRoute's CORS filter for a comma-separated list:
// each as Origin writes it, once, in the order first written. The CRD's list is a set, which
// refuses a repeat, and normalising makes some (A.example.com and a.example.com:443).
func GatewayOrigins(csv string) []string {
	origins := CSV(csv)
	for i, o := range origins {
		origins[i] = Origin(o)
	}
	return distinct(origins, asWritten)
}

// GatewayMethods are the methods of an HTTPRoute's CORS filter: upper-cased, each once.
func GatewayMethods(csv string) []string {
	return distinct(CSV(strings.ToUpper(csv)), asWritten)
}

// GatewayHeaders are the header names of an HTTPRoute's CORS filter: each once whatever its
// case, in its first spelling. The CRD compares them as written, but header names are
// case-insensitive, so Content-Type and content-type are one header.
func GatewayHeaders(csv string) []string {
	return distinct(CSV(csv), strings.ToLower)
}

// distinct is entries less those whose key an earlier one has.
func distinct(entries []string, key func(string) string) []string {
	var out []string
	seen := map[string]bool{}
	for _, e := range entries {
		if k := key(e); !seen[k] {
			seen[k] = true
			out = append(out, e)
		}
	}
	return out
}

func asWritten(s string) string { return s }

// ValidateForHTTPRoute refuses what ValidateSpec accepts but an HTTPRoute cannot hold
// (--route-api=HTTPRoute): the API server would refuse the route at every reconcile.
func ValidateForHTTPRoute(spec *odav1.ExposedAPISpec, fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	if strings.Contains(strings.ToLower(spec.Path), "%2f") {
		errs = append(errs, field.Invalid(fld.Child("path"), spec.Path, "cannot hold an escaped '/' (%2F): an HTTPRoute's path match refuses it"))
	}
	if len(spec.Path) > maxGatewayPathLength {
		errs = append(errs, &field.Error{Type: field.ErrorTypeTooLong, Field: fld.Child("path").String(), BadValue: "<value omitted>",
			Detail: fmt.Sprintf("may not be more than %d bytes for an HTTPRoute's path match (it has %d)", maxGatewayPathLength, len(spec.Path))})
	}
	c := spec.CORS
	if c == nil || !ptr.Deref(c.Enabled, false) {
		return errs
	}
	fld = fld.Child("CORS")
	// Checked as the route writes them, normalised and each once.
	origins := GatewayOrigins(c.AllowOrigins)
	for _, o := range origins {
		if !gatewayOrigin.MatchString(o) {
			errs = append(errs, field.Invalid(fld.Child("allowOrigins"), c.AllowOrigins,
				"each entry must be *, or a scheme and a host of letters, digits and '-' (its first label may be *), with an optional port, for an HTTPRoute: "+o))
			break
		}
	}
	errs = append(errs, tooLongEntry(origins, maxGatewayOriginLength, c.AllowOrigins, fld.Child("allowOrigins"))...)
	errs = append(errs, tooMany(origins, maxGatewayOrigins, "origins", c.AllowOrigins, fld.Child("allowOrigins"))...)
	errs = append(errs, wildcardAlone(origins, c.AllowOrigins, fld.Child("allowOrigins"))...)
	if p := c.HandlePreflightRequests; p != nil && ptr.Deref(p.Enabled, true) {
		errs = append(errs, gatewayPreflight(p, fld.Child("handlePreflightRequests"))...)
	}
	return errs
}

func gatewayPreflight(p *odav1.PreflightRequests, fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	methods := GatewayMethods(p.AllowMethods)
	for _, m := range methods {
		if !slices.Contains(gatewayMethods, m) {
			errs = append(errs, field.NotSupported(fld.Child("allowMethods"), m, gatewayMethods))
			break
		}
	}
	errs = append(errs, wildcardAlone(methods, p.AllowMethods, fld.Child("allowMethods"))...)
	headers := GatewayHeaders(p.AllowHeaders)
	errs = append(errs, tooLongEntry(headers, maxGatewayHeaderLength, p.AllowHeaders, fld.Child("allowHeaders"))...)
	errs = append(errs, tooMany(headers, maxGatewayHeaders, "headers", p.AllowHeaders, fld.Child("allowHeaders"))...)
	return append(errs, wildcardAlone(headers, p.AllowHeaders, fld.Child("allowHeaders"))...)
}

// tooMany refuses a CORS list of more distinct entries than an HTTPRoute's holds; repeats,
// which the route leaves out, do not count.
func tooMany(entries []string, most int, what, value string, fld *field.Path) field.ErrorList {
	if len(entries) <= most {
		return nil
	}
	return field.ErrorList{field.Invalid(fld, value, fmt.Sprintf("lists %d different %s, and an HTTPRoute holds at most %d", len(entries), what, most))}
}

// tooLongEntry refuses a CORS list with an entry longer than an HTTPRoute's list holds.
func tooLongEntry(entries []string, most int, value string, fld *field.Path) field.ErrorList {
	for _, e := range entries {
		if len(e) > most {
			return field.ErrorList{field.Invalid(fld, value, fmt.Sprintf("each entry must be at most %d characters for an HTTPRoute (one has %d): %s", most, len(e), e))}
		}
	}
	return nil
}

// wildcardAlone refuses * beside other entries, which an HTTPRoute's CORS lists refuse.
func wildcardAlone(entries []string, value string, fld *field.Path) field.ErrorList {
	if len(entries) > 1 && slices.Contains(entries, "*") {
		return field.ErrorList{field.Invalid(fld, value, fmt.Sprintf("cannot hold * beside other entries for an HTTPRoute (%d entries)", len(entries)))}
	}
	return nil
}
