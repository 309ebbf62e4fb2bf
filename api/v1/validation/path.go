// Package validation normalises and validates ExposedAPI specs. The admission webhooks and
// the controller share it: the controller cannot count on the webhook having run.
package validation

import (
	"path"
)

// NormalizePath gives a path exactly one leading slash, collapses repeated slashes, drops a
// trailing slash (except the root's) and resolves "." and ".." segments without climbing
// above the root. An empty path stays empty, for the validator to report as required.
func NormalizePath(p string) string {
	if p == "" {
		return ""
	}
	return path.Clean("/" + p)
}
