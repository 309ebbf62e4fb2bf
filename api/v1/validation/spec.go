package validation

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8svalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
)

// APITypes are the accepted values of spec.apiType.
var APITypes = []string{odav1.APITypeOpenAPI, odav1.APITypePrometheus, odav1.APITypeOpenMetrics, odav1.APITypeMCP}

// Segments are the accepted values of spec.segment.
var Segments = []string{odav1.SegmentCore, odav1.SegmentManagement, odav1.SegmentSecurity}

// ValidateExposedAPI checks a whole ExposedAPI: its spec and its component label.
func ValidateExposedAPI(api *odav1.ExposedAPI) field.ErrorList {
	errs := ValidateComponentLabel(api.Labels)
	return append(errs, ValidateSpec(&api.Spec, field.NewPath("spec"))...)
}

// ValidateComponentLabel checks the label that names the API's ODA Component.
func ValidateComponentLabel(labels map[string]string) field.ErrorList {
	v, ok := labels[odav1.ComponentNameLabel]
	fld := field.NewPath("metadata", "labels").Key(odav1.ComponentNameLabel)
	if !ok || v == "" {
		return field.ErrorList{field.Required(fld, "the name of the ODA Component this API belongs to")}
	}
	var errs field.ErrorList
	for _, msg := range k8svalidation.IsValidLabelValue(v) {
		errs = append(errs, field.Invalid(fld, v, msg))
	}
	return errs
}

// ValidateSpec checks a spec as stored (after defaulting), one error per bad field.
func ValidateSpec(spec *odav1.ExposedAPISpec, fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	if spec.Name == "" {
		errs = append(errs, field.Required(fld.Child("name"), "the name of the API"))
	}
	errs = append(errs, validateAPIType(spec.APIType, fld.Child("apiType"))...)
	errs = append(errs, validateImplementation(spec.Implementation, fld.Child("implementation"))...)
	errs = append(errs, validatePath(spec.Path, fld.Child("path"), true)...)
	errs = append(errs, validateDeveloperUI(spec.DeveloperUI, fld.Child("developerUI"))...)
	errs = append(errs, validatePort(spec.Port, fld.Child("port"))...)
	errs = append(errs, validateHostname(spec.Hostname, fld.Child("hostname"))...)
	errs = append(errs, validateSegment(spec.Segment, fld.Child("segment"))...)
	errs = append(errs, validateSpecification(spec.Specification, fld.Child("specification"))...)
	errs = append(errs, validateCORS(spec.CORS, fld.Child("CORS"))...)
	errs = append(errs, validateRateLimit(spec.RateLimit, fld.Child("rateLimit"))...)
	errs = append(errs, validateAPIKey(spec.APIKeyVerification, fld.Child("apiKeyVerification"))...)
	errs = append(errs, validateQuota(spec.Quota, fld.Child("quota"))...)
	return withMalformed(spec.Malformed, fld, errs)
}

// withMalformed reports each field whose stored value its type cannot hold, in place of
// what errs say of the empty value it reads as.
func withMalformed(bad []odav1.MalformedField, fld *field.Path, errs field.ErrorList) field.ErrorList {
	if len(bad) == 0 {
		return errs
	}
	var out field.ErrorList
	for _, m := range bad {
		p := fld
		if m.Name != "" {
			p = fld.Child(m.Name)
		}
		detail := "must be " + m.Want
		switch m.Name {
		case "port":
			detail = portDetail
		case "segment":
			detail = "must be one of " + quoted(Segments)
		}
		// Printed as the JSON it is: "Invalid value: 7", where a string would print "7".
		out = append(out, field.Invalid(p, json.RawMessage(m.Value), detail))
	}
	for _, e := range errs {
		if !slices.ContainsFunc(bad, func(m odav1.MalformedField) bool { return m.Name == "" || under(e.Field, fld.Child(m.Name).String()) }) {
			out = append(out, e)
		}
	}
	return out
}

// under: path is p or a path inside it.
func under(path, p string) bool {
	return path == p || strings.HasPrefix(path, p+".") || strings.HasPrefix(path, p+"[")
}

// ToStatusError turns errors into the Invalid status kubectl prints field by field.
func ToStatusError(name string, errs field.ErrorList) error {
	return apierrors.NewInvalid(schema.GroupKind{Group: odav1.GroupVersion.Group, Kind: "ExposedAPI"}, name, errs)
}

func validateAPIType(v string, fld *field.Path) field.ErrorList {
	if v == "" {
		return field.ErrorList{field.Required(fld, "one of "+quoted(APITypes))}
	}
	if !slices.Contains(APITypes, v) {
		return field.ErrorList{field.NotSupported(fld, v, APITypes)}
	}
	return nil
}

func validateImplementation(v string, fld *field.Path) field.ErrorList {
	if v == "" {
		return field.ErrorList{field.Required(fld, "the name of the Service that implements the API")}
	}
	if msgs := k8svalidation.IsDNS1035Label(v); len(msgs) > 0 {
		return field.ErrorList{field.Invalid(fld, v, "must be the name of a Service in the same namespace: "+strings.Join(msgs, "; "))}
	}
	return nil
}

const portDetail = "must be a port number from 1 to 65535"

// validatePort reports a 0 as the value it is: every CRD version we serve (ours and the
// ODA Canvas's) requires port, so the API server refuses a missing one and a 0 here was
// written.
func validatePort(p int32, fld *field.Path) field.ErrorList {
	if p < 1 || p > 65535 {
		return field.ErrorList{field.Invalid(fld, p, portDetail)}
	}
	return nil
}

// validatePath accepts what an Istio uri prefix match can hold: an absolute path of
// unreserved, sub-delimiter, ':' and '@' characters and percent escapes.
func validatePath(p string, fld *field.Path, required bool) field.ErrorList {
	if p == "" && required {
		return field.ErrorList{field.Required(fld, "the root path of the API, e.g. /tmf-api/productCatalogManagement/v4")}
	}
	return validateURIPath(p, "", fld)
}

// validateDeveloperUI checks the path of a developerUI as validatePath does; its query and
// fragment route nothing, so they need only be what a URI can hold there (RFC 3986).
func validateDeveloperUI(ui string, fld *field.Path) field.ErrorList {
	p, tail := splitDeveloperUI(ui)
	if errs := validateURIPath(p, tail, fld); len(errs) > 0 {
		return errs
	}
	if i, r := badTailChar(tail); i >= 0 {
		return field.ErrorList{field.Invalid(fld, ui, fmt.Sprintf("character %q at offset %d cannot be in a URI query or fragment; use letters, digits, '-._~!$&'()*+,;=:@/?', one '#' before a fragment, or %%-escapes", r, len(p)+i))}
	}
	return nil
}

// validateURIPath checks the path p, written followed by tail (a developerUI's query and
// fragment): errors name the value as written.
func validateURIPath(p, tail string, fld *field.Path) field.ErrorList {
	written := p + tail
	switch {
	case written == "":
		return nil
	case isURL(p):
		return field.ErrorList{field.Invalid(fld, written, "must be a path on the API's host, like /docs, not a URL: the operator makes the URL from the host")}
	case dotsOnly(p):
		return field.ErrorList{field.Invalid(fld, written, `names no path: its "." and ".." segments clean to "/", which routes every path of the host; write "/" if that is meant`)}
	case !strings.HasPrefix(p, "/"):
		return field.ErrorList{field.Invalid(fld, written, "must start with '/'")}
	}
	if NormalizePath(p) != p {
		return field.ErrorList{field.Invalid(fld, written, fmt.Sprintf("must be normalised (no '//', '.' or '..' segments, no trailing '/'): %s", NormalizePath(p)+tail))}
	}
	if i, r := badURIChar(p, "-._~!$&'()*+,;=:@/"); i >= 0 {
		return field.ErrorList{field.Invalid(fld, written, fmt.Sprintf("character %q at offset %d cannot be in a URI path prefix; use letters, digits, '-._~!$&'()*+,;=:@/' or %%-escapes", r, i))}
	}
	return nil
}

// badTailChar finds the first character a URI's query and fragment cannot hold in tail,
// which starts with the '?' or '#' that opens it (RFC 3986): both hold a path's characters,
// '/' and '?'; a query ends at the first '#', and a fragment holds no other.
func badTailChar(tail string) (int, rune) {
	if tail == "" {
		return -1, 0
	}
	const chars = "-._~!$&'()*+,;=:@/?"
	end := len(tail)
	if i := strings.IndexByte(tail, '#'); tail[0] == '?' && i > 0 {
		end = i
	}
	if i, r := badURIChar(tail[1:end], chars); i >= 0 {
		return 1 + i, r
	}
	if end < len(tail) {
		if i, r := badURIChar(tail[end+1:], chars); i >= 0 {
			return end + 1 + i, r
		}
	}
	return -1, 0
}

// badURIChar finds the first character of s that is not a letter, a digit, one of chars or
// a percent escape.
func badURIChar(s, chars string) (int, rune) {
	for i, r := range s {
		switch {
		case r < 0x80 && (isAlnum(byte(r)) || strings.ContainsRune(chars, r)):
		case r == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
		default:
			return i, r
		}
	}
	return -1, 0
}

func isAlnum(c byte) bool {
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// NormalizeHostname is the host a spec.hostname routes and is reachable at: "" for any host
// ("*" means what leaving it unset means), and a fully qualified name without its trailing
// dot, so that "a.com." and "a.com" are one host. The spec keeps what its writer wrote.
func NormalizeHostname(h string) string {
	if h == "*" {
		return ""
	}
	return strings.TrimSuffix(h, ".")
}

// validateHostname accepts what an Istio VirtualService host can be and the status URL
// https://<hostname><path> can hold: a lower-case DNS name (fully qualified with a trailing
// dot or not), a wildcard of one, an IPv4 address, or "*" for any host. Istio refuses a
// label over 63 characters, which would otherwise surface only as a VirtualService the API
// server rejects.
func validateHostname(written string, fld *field.Path) field.ErrorList {
	if written == "" || written == "*" {
		return nil
	}
	h := NormalizeHostname(written)
	name := strings.TrimPrefix(h, "*.")
	if msgs := k8svalidation.IsDNS1123Subdomain(name); len(msgs) > 0 {
		return field.ErrorList{field.Invalid(fld, written, "must be a DNS name or a wildcard like *.example.com, lower case: "+strings.Join(msgs, "; "))}
	}
	labels := strings.Split(name, ".")
	if slices.ContainsFunc(labels, func(l string) bool { return len(l) > 63 }) {
		return field.ErrorList{field.Invalid(fld, written, "each dot-separated part of a DNS name must be no more than 63 characters")}
	}
	// No top-level domain is all digits: such a name can only be meant as an IPv4 address.
	if last := labels[len(labels)-1]; strings.Trim(last, "0123456789") == "" {
		if a, err := netip.ParseAddr(name); err != nil || !a.Is4() || name != h {
			return field.ErrorList{field.Invalid(fld, written, "must be a DNS name, a wildcard like *.example.com, or an IPv4 address like 192.0.2.10")}
		}
	}
	return nil
}

func validateSegment(s string, fld *field.Path) field.ErrorList {
	if s != "" && !slices.Contains(Segments, s) {
		return field.ErrorList{field.NotSupported(fld, s, Segments)}
	}
	return nil
}

func validateSpecification(s *odav1.Specification, fld *field.Path) field.ErrorList {
	if s != nil && s.Unknown != "" {
		return field.ErrorList{field.Invalid(fld, json.RawMessage(s.Unknown), "must be an object {url, version}, e.g. {\"url\": \"https://example.com/api/openapi.yaml\"}")}
	}
	if s == nil || (s.Legacy && s.URL == "" && len(s.Malformed) == 0) {
		// An older list stored on the canvas's CRD reads as v1 with its entries' fields
		// pruned by the API server: nothing the user can see or fix in v1, and no route
		// depends on it.
		return nil
	}
	return ValidateSpecificationObject(s, fld)
}

// ValidateSpecificationObject checks one object {url, version} at fld. A field written as
// something other than a string is named as such, not as missing: it reads as empty. A
// version alone is taken, as the canvas's CRD takes it: the canvas's component operator
// writes {version} for an API its Component gives a version and no specification URL.
func ValidateSpecificationObject(s *odav1.Specification, fld *field.Path) field.ErrorList {
	if s.URL == "" && s.Version != "" {
		return withMalformed(s.Malformed, fld, nil)
	}
	return withMalformed(s.Malformed, fld, ValidateSpecificationURL(s.URL, fld.Child("url")))
}

// ValidateSpecificationURL checks the URL of an API's specification document, at fld.
func ValidateSpecificationURL(written string, fld *field.Path) field.ErrorList {
	if written == "" {
		return field.ErrorList{field.Required(fld, "the URL of the API's specification document, e.g. https://example.com/api/openapi.yaml")}
	}
	u, err := url.Parse(written)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return field.ErrorList{field.Invalid(fld, written, "must be an absolute http or https URL, e.g. https://example.com/api/openapi.yaml")}
	}
	return nil
}

func validateRateLimit(r *odav1.RateLimit, fld *field.Path) field.ErrorList {
	if r == nil {
		return nil
	}
	var errs field.ErrorList
	if r.Interval != "" && r.Interval != "ps" && r.Interval != "pm" {
		errs = append(errs, field.NotSupported(fld.Child("interval"), r.Interval, []string{"ps", "pm"}))
	}
	return append(errs, validateCount(r.Limit, maxRateLimit, fld.Child("limit"))...)
}

func validateQuota(q *odav1.Quota, fld *field.Path) field.ErrorList {
	if q == nil {
		return nil
	}
	return validateCount(q.Limit, math.MaxInt64, fld.Child("limit"))
}

// maxRateLimit is what Envoy's token bucket, a uint32, holds: a greater limit would pass
// here only to fail every reconcile.
const maxRateLimit = math.MaxUint32

func validateCount(s string, limit uint64, fld *field.Path) field.ErrorList {
	if s == "" {
		return nil
	}
	n, err := strconv.ParseUint(s, 10, 64)
	switch {
	case errors.Is(err, strconv.ErrRange) || err == nil && n > limit:
		return field.ErrorList{field.Invalid(fld, s, fmt.Sprintf("must be at most %d", limit))}
	case err != nil || n == 0:
		return field.ErrorList{field.Invalid(fld, s, "must be a whole number greater than 0, written as a string, e.g. \"100\"")}
	}
	return nil
}

func quoted(list []string) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}
