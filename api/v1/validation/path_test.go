package validation

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
