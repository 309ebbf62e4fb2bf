package validation

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// The refusals, with their messages, are tested through the API server in test/webhooks;
// these are the names that must stay accepted.
func TestHostnamesAccepted(t *testing.T) {
	for _, h := range []string{"", "api.example.com", "*.example.com", "localhost", "192.0.2.10", "a1.b2",
		"x.example.c0m", strings.Repeat("a", 63) + ".example.com", "*", "api.example.com.", "*.example.com."} {
		assert.Empty(t, validateHostname(h, field.NewPath("spec", "hostname")), h)
	}
	for _, h := range []string{"1.2.3", "::1", "*.192.0.2.10", strings.Repeat("a", 64), ".", "*.", "api.example.com..", "**"} {
		assert.NotEmpty(t, validateHostname(h, field.NewPath("spec", "hostname")), h)
	}
}

func TestNormalizeHostname(t *testing.T) {
	for in, want := range map[string]string{"": "", "*": "", "api.example.com.": "api.example.com", "api.example.com": "api.example.com", "*.example.com.": "*.example.com"} {
		assert.Equal(t, want, NormalizeHostname(in), in)
	}
}
