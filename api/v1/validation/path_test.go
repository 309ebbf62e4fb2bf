package validation

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/util/validation/field"
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

// decodeByPasses is DecodeUnreserved's definition: decode every escape of an unreserved
// character, left to right, and again over the result until nothing changes.
func decodeByPasses(p string) string {
	for {
		var b strings.Builder
		for i := 0; i < len(p); i++ {
			if c, err := strconv.ParseUint(p[i+1:min(i+3, len(p))], 16, 8); p[i] == '%' && i+3 <= len(p) && err == nil &&
				!strings.ContainsAny(p[i+1:i+3], "+-") && unreserved(byte(c)) {
				b.WriteByte(byte(c))
				i += 2
				continue
			}
			b.WriteByte(p[i])
		}
		if b.String() == p {
			return p
		}
		p = b.String()
	}
}

func unreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~", c) >= 0
}

// TestDecodeUnreservedMatchesRepeatedPasses: the one-pass decoding gives what decoding pass
// after pass does, on strings made of the characters escapes are made of.
func TestDecodeUnreservedMatchesRepeatedPasses(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const alphabet = "%%%0123456789abcdefABCDEF/-x"
	for range 200000 {
		b := make([]byte, r.IntN(14))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		require.Equal(t, decodeByPasses(string(b)), DecodeUnreserved(string(b)), "%q", b)
	}
}

// TestNormalizePathOfNestedEscapesIsOnePass: a path of k nested escapes ("/%%%3341" is
// "/%%341", then "/%41", then "/A") once took k passes over the whole path, so a request of
// a few hundred KiB held the defaulting webhook for minutes. One pass allocates once.
func TestNormalizePathOfNestedEscapesIsOnePass(t *testing.T) {
	const k = 64 << 10
	p := "/" + strings.Repeat("%", k) + strings.Repeat("3", k-1) + "41"
	assert.Equal(t, "/A", NormalizePath(p))
	allocs := testing.AllocsPerRun(3, func() { DecodeUnreserved(p) })
	assert.LessOrEqual(t, allocs, 2.0, "decoding %d bytes of nested escapes allocates once per pass", len(p))
}

// TestNormalizeDeveloperUI: the path is cleaned as spec.path is; the query and fragment the
// UI page reads are kept as written (path.Clean would turn "#/" into "#").
func TestNormalizeDeveloperUI(t *testing.T) {
	for in, want := range map[string]string{
		"/swagger-ui.html#/": "/swagger-ui.html#/",
		"swagger-ui//./index.html?configUrl=/v3/api-docs/swagger-config": "/swagger-ui/index.html?configUrl=/v3/api-docs/swagger-config",
		"/%64ocs/?a=%41//b#x/../y":                                       "/docs?a=%41//b#x/../y",
		"?x=1":                                                           "/?x=1",
		"#/":                                                             "/#/",
		"/docs":                                                          "/docs",
		"":                                                               "",
		"https://e.com/ui?x=1":                                           "https://e.com/ui?x=1",
	} {
		assert.Equal(t, want, NormalizeDeveloperUI(in), in)
	}
}

// The refusals that reach a user are tested through the API server in test/webhooks; these
// are the edges of RFC 3986's query and fragment.
func TestValidateDeveloperUI(t *testing.T) {
	fld := field.NewPath("spec", "developerUI")
	for _, ui := range []string{"/swagger-ui.html#/", "/swagger-ui/index.html?configUrl=/v3/api-docs/swagger-config",
		"/ui?a=1&b=%20c?d/e#f?g/h:i@j", "/ui#", "/ui?", "/ui?#", "/", ""} {
		assert.Empty(t, validateDeveloperUI(ui, fld), ui)
	}
	for ui, want := range map[string]string{
		"/ui?a=b c":   `character ' ' at offset 7`,
		"/ui#a#b":     `character '#' at offset 5`,
		"/ui?a#b#c":   `character '#' at offset 7`,
		"/ui?a=%zz":   `character '%' at offset 6`,
		"/ui#\x7f":    `character '\x7f' at offset 4`,
		"/ui?é":       `character 'é' at offset 4`,
		"/ui?a=<b>":   `character '<' at offset 6`,
		"/u i?x":      `character ' ' at offset 2 cannot be in a URI path prefix`,
		"?x":          `must start with '/'`,
		"/a//b?x=//":  `must be normalised (no '//', '.' or '..' segments, no trailing '/'): /a/b?x=//`,
		"/..#/":       `names no path`,
		"http://e/#x": `not a URL`,
	} {
		errs := validateDeveloperUI(ui, fld)
		if assert.Len(t, errs, 1, ui) {
			assert.Equal(t, ui, errs[0].BadValue, "the value as written")
			assert.Contains(t, errs[0].Error(), want, ui)
		}
	}
}
