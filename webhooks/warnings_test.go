package webhooks

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Every warning is one the API server passes on: it drops one that holds a control
// character (k8s.io/apiserver's warning filter, through NewWarningHeader).
func TestWarningsThatHoldControlCharacters(t *testing.T) {
	errs := field.ErrorList{field.Invalid(field.NewPath("spec", "hostname"), "a\u0085b", "not a DNS name")}
	for _, w := range append(warningsOf(errs), printable("x\u007fy\tz"), asWritten("https://e.com/?a=1&b=\u0085")) {
		_, err := utilnet.NewWarningHeader(299, "", w)
		assert.NoError(t, err, w)
	}
	assert.Equal(t, `"https://e.com/?a=1&b=\u0085"`, asWritten("https://e.com/?a=1&b=\u0085"))
	assert.Equal(t, "plain", printable("plain"))
}

// The validator's warnings on an update that leaves a stored spec as it is (R2.4) leave
// the defaulter's room: past 4096 characters in all the API server cuts every warning of
// the response to 256, the one naming dropped specification entries among them.
func TestStoredSpecWarningsWithinTheirBudget(t *testing.T) {
	var errs field.ErrorList
	for i := range 8 {
		errs = append(errs, field.Invalid(field.NewPath("spec", fmt.Sprintf("f%d", i)), strings.Repeat("x", 300), "bad"))
	}
	got := warningsOf(errs)
	n := 0
	for _, w := range got {
		n += utf8.RuneCountInString(w)
	}
	assert.LessOrEqual(t, n, 4096-warningBudget-256+200, "the count of the others is short")
	require.Len(t, got, 3)
	assert.Equal(t, errs[0].Error(), got[0])
	assert.Equal(t, "spec: 6 more problems of the stored spec not shown here (too long for a warning); a change of the spec is refused until they are fixed", got[2])

	assert.Len(t, warningsOf(errs[:2]), 2, "what fits is given whole")
}
