package policies

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	k8svalidation "k8s.io/apimachinery/pkg/util/validation"
)

// TestNameLabelValue: a name that fits a label value is its own; a longer one (up to an
// object name's 253) is a valid label value, and another name of the same first 52
// characters gets another.
func TestNameLabelValue(t *testing.T) {
	fits := strings.Repeat("a", 63)
	assert.Equal(t, fits, nameLabelValue(fits))
	seen := map[string]string{}
	for _, name := range []string{strings.Repeat("a", 64), strings.Repeat("a", 64) + ".b", strings.Repeat("a", 51) + "-" + strings.Repeat("c", 201)} {
		v := nameLabelValue(name)
		assert.Empty(t, k8svalidation.IsValidLabelValue(v), "%s: %q", name, v)
		assert.Equal(t, name[:52], v[:52])
		assert.NotContains(t, seen, v, "%s and %s", name, seen[v])
		seen[v] = name
	}
}
