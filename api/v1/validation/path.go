// Package validation normalises and validates ExposedAPI specs. The admission webhooks and
// the controller share it: the controller cannot count on the webhook having run, so every
// check here is pure, deterministic and cheap.
package validation

import (
	"fmt"
	"path"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// pathChars are the characters besides letters, digits and %-escapes that a URI path may
// hold unescaped (RFC 3986 pchar plus '/').
const pathChars = "-._~!$&'()*+,;=:@/"

// NormalizePath gives a path exactly one leading slash, collapses repeated slashes, drops a
// trailing slash (except the root's) and resolves "." and ".." segments without climbing
// above the root. An empty path stays empty, for the validator to report as required.
// NormalizePath(NormalizePath(p)) == NormalizePath(p).
func NormalizePath(p string) string {
	if p == "" {
		return ""
	}
	// Rooting the path first makes Clean drop any ".." that would climb above it.
	return path.Clean("/" + p)
}

// validatePath accepts what an Istio uri prefix match can hold: an absolute, normalised path
// of unreserved, sub-delimiter, ':' and '@' characters and %-escapes.
func validatePath(p string, fld *field.Path, required bool) field.ErrorList {
	if p == "" {
		if required {
			return field.ErrorList{field.Required(fld, "the root path of the API, e.g. /tmf-api/productCatalogManagement/v4")}
		}
		return nil
	}
	if !strings.HasPrefix(p, "/") {
		return field.ErrorList{field.Invalid(fld, p, "must start with '/'")}
	}
	if n := NormalizePath(p); n != p {
		return field.ErrorList{field.Invalid(fld, p, "must be normalised (no '//', '.' or '..' segments, no trailing '/'): "+n)}
	}
	if i, r := badPathChar(p); i >= 0 {
		return field.ErrorList{field.Invalid(fld, p, fmt.Sprintf(
			"character %q at offset %d cannot be in a URI path prefix; use letters, digits, '%s' or %%-escapes", r, i, pathChars))}
	}
	return nil
}

// badPathChar finds the first character a URI path cannot hold: its byte offset and the
// character, or -1.
func badPathChar(p string) (int, rune) {
	for i, r := range p {
		switch {
		case r < 0x80 && (isAlnum(byte(r)) || strings.ContainsRune(pathChars, r)):
		case r == '%' && i+2 < len(p) && isHex(p[i+1]) && isHex(p[i+2]):
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
