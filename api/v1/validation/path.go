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
// '-', '.', '_', '~') until none is left: a decoded '%' followed by one can make another.
func DecodeUnreserved(p string) string {
	for {
		q := decodeUnreservedOnce(p)
		if q == p {
			return p
		}
		p = q
	}
}

func decodeUnreservedOnce(p string) string {
	if !strings.Contains(p, "%") {
		return p
	}
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if c, ok := unreservedEscape(p, i); ok {
			b.WriteByte(c)
			i += 2
			continue
		}
		b.WriteByte(p[i])
	}
	return b.String()
}

// unreservedEscape tells whether p holds at i an escape of an unreserved character, and which.
func unreservedEscape(p string, i int) (byte, bool) {
	if p[i] != '%' || i+2 >= len(p) || !isHex(p[i+1]) || !isHex(p[i+2]) {
		return 0, false
	}
	c := unhex(p[i+1])<<4 | unhex(p[i+2])
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
