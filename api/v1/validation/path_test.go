package validation

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestNormalizePathDecodesUnreservedEscapes: the gateway decodes them before it routes and
// checks tokens (RFC 3986 normalisation), so the prefix is kept as it will match.
func TestNormalizePathDecodesUnreservedEscapes(t *testing.T) {
	for in, want := range map[string]string{
		"/%41pi":           "/Api",
		"/a%2db%5Fc%7e%2E": "/a-b_c~.",
		"/x/%2E%2E/y":      "/y",
		"/%2e":             "/.", // dots only: kept, decoded, for the validator to refuse
		"/a%2Fb%20c%25":    "/a%2Fb%20c%25",
		"/%%341":           "/A", // a decoded escape followed by one can make another
		"/%4":              "/%4",
	} {
		assert.Equal(t, want, NormalizePath(in), in)
	}
}
