// Package validation normalises and validates ExposedAPI specs. The admission webhooks and
// the controller share it: the controller cannot count on the webhook having run.
package validation

import (
	"net/url"
	"path"
	"strings"
)

// NormalizePath gives a path exactly one leading slash, collapses repeated slashes, drops a
// trailing slash (except the root's), decodes the percent-escapes of unreserved characters
// (%41 is A, %2E is .) and resolves "." and ".." segments without climbing above the root:
// the gateway's proxies normalise a request's path so (RFC 3986) before routing it and
// checking its token, so a prefix written otherwise would match no request. An empty path
// stays empty, for the validator to report as required.
//
// Two kinds of value are returned as written, for the validator to refuse with a reason:
// an absolute URL (a slash in front would make it a path nobody meant), and a path of dot
// segments only (cleaning would make it "/", which routes every path of the host).
func NormalizePath(p string) string {
	p = DecodeUnreserved(p)
	if p == "" || isURL(p) || dotsOnly(p) {
		return p
	}
	return path.Clean("/" + p)
}

// NormalizeDeveloperUI normalises the path of a developerUI as NormalizePath does and keeps
// its query and fragment as written: UIs are opened at a page with a query or a fragment
// (springdoc's /swagger-ui/index.html?configUrl=..., Springfox's /swagger-ui.html#/),
// which mean something only to the page, and cleaning them as a path would change it.
func NormalizeDeveloperUI(ui string) string {
	p, tail := splitDeveloperUI(ui)
	if p == "" && tail != "" {
		return "/" + tail
	}
	return NormalizePath(p) + tail
}

// splitDeveloperUI splits a developerUI at its first '?' or '#': the path, then the query
// and fragment with the character that starts them.
func splitDeveloperUI(ui string) (path, tail string) {
	if i := strings.IndexAny(ui, "?#"); i >= 0 {
		return ui[:i], ui[i:]
	}
	return ui, ""
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

// DecodeUnreserved decodes the percent-escapes of unreserved characters (letters, digits,
// '-', '.', '_', '~') until none is left: a decoded character can complete an escape with
// the '%' before it ("%%341" is "%41", then "A"). It takes one pass, so that a path of
// nested escapes costs its length and not its length squared: each byte is appended, and
// an escape the output then ends with is decoded in place, again while that makes another.
// Escapes cannot overlap ('%' is not a hex digit), so this is the one result of decoding
// them in any order.
func DecodeUnreserved(p string) string {
	if !strings.Contains(p, "%") {
		return p
	}
	out := make([]byte, 0, len(p))
	for i := 0; i < len(p); i++ {
		out = append(out, p[i])
		for {
			c, ok := unreservedEscapeAtEnd(out)
			if !ok {
				break
			}
			out = append(out[:len(out)-3], c)
		}
	}
	return string(out)
}

// unreservedEscapeAtEnd tells whether b ends with an escape of an unreserved character, and which.
func unreservedEscapeAtEnd(b []byte) (byte, bool) {
	n := len(b)
	if n < 3 || b[n-3] != '%' || !isHex(b[n-2]) || !isHex(b[n-1]) {
		return 0, false
	}
	c := unhex(b[n-2])<<4 | unhex(b[n-1])
	return c, isAlnum(c) || strings.IndexByte("-._~", c) >= 0
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}
