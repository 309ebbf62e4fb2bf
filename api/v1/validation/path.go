// Package validation normalises and validates ExposedAPI specs. The admission webhooks and
// the controller share it: the controller cannot count on the webhook having run.
package validation

import (
	"net/url"
	"path"
	"strings"
)

// NormalizePath gives a path exactly one leading slash, collapses repeated slashes, drops a
// trailing slash (except the root's) and resolves "." and ".." segments without climbing
// above the root. An empty path stays empty, for the validator to report as required.
//
// Two kinds of value are returned as written, for the validator to refuse with a reason:
// an absolute URL (a slash in front would make it a path nobody meant), and a path of dot
// segments only (cleaning would make it "/", which routes every path of the host).
func NormalizePath(p string) string {
	if p == "" || isURL(p) || dotsOnly(p) {
		return p
	}
	return path.Clean("/" + p)
}

// dotsOnly tells whether p cleans to the root only by its "." and ".." segments.
func dotsOnly(p string) bool {
	return path.Clean("/"+p) == "/" && strings.Contains(p, ".")
}

// isURL tells whether p is an absolute URL (scheme and host) rather than a path.
func isURL(p string) bool {
	if strings.HasPrefix(p, "/") {
		return false
	}
	u, err := url.Parse(p)
	return err == nil && u.Scheme != "" && u.Host != ""
}
