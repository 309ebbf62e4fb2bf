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

// maxGatewayMethods is the most CORS methods an HTTPRoute holds.
const maxGatewayMethods = 9

// ValidateForHTTPRoute refuses what ValidateSpec accepts but an HTTPRoute cannot hold
// (--route-api=HTTPRoute): the API server would refuse the route at every reconcile.
func ValidateForHTTPRoute(spec *odav1.ExposedAPISpec, fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	if strings.Contains(strings.ToLower(spec.Path), "%2f") {
		errs = append(errs, field.Invalid(fld.Child("path"), spec.Path, "cannot hold an escaped '/' (%2F): an HTTPRoute's path match refuses it"))
	}
	c := spec.CORS
	if c == nil || !ptr.Deref(c.Enabled, false) {
		return errs
	}
	fld = fld.Child("CORS")
	origins := CSV(c.AllowOrigins)
	for _, o := range origins {
		if !gatewayOrigin.MatchString(strings.TrimSuffix(o, "/")) {
			errs = append(errs, field.Invalid(fld.Child("allowOrigins"), c.AllowOrigins,
				"each entry must be *, or a scheme and a host of letters, digits and '-' (its first label may be *), with an optional port, for an HTTPRoute: "+o))
			break
		}
	}
	errs = append(errs, wildcardAlone(origins, c.AllowOrigins, fld.Child("allowOrigins"))...)
	if p := c.HandlePreflightRequests; p != nil && ptr.Deref(p.Enabled, true) {
		errs = append(errs, gatewayPreflight(p, fld.Child("handlePreflightRequests"))...)
	}
	return errs
}

func gatewayPreflight(p *odav1.PreflightRequests, fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	methods := CSV(p.AllowMethods)
	for _, m := range methods {
		if !slices.Contains(gatewayMethods, m) {
			errs = append(errs, field.NotSupported(fld.Child("allowMethods"), m, gatewayMethods))
			break
		}
	}
	if len(methods) > maxGatewayMethods {
		errs = append(errs, field.TooMany(fld.Child("allowMethods"), len(methods), maxGatewayMethods))
	}
	errs = append(errs, wildcardAlone(methods, p.AllowMethods, fld.Child("allowMethods"))...)
	return append(errs, wildcardAlone(CSV(p.AllowHeaders), p.AllowHeaders, fld.Child("allowHeaders"))...)
}

// wildcardAlone refuses * beside other entries, which an HTTPRoute's CORS lists refuse.
func wildcardAlone(entries []string, value string, fld *field.Path) field.ErrorList {
	if len(entries) > 1 && slices.Contains(entries, "*") {
		return field.ErrorList{field.Invalid(fld, value, fmt.Sprintf("cannot hold * beside other entries for an HTTPRoute (%d entries)", len(entries)))}
	}
	return nil
}
