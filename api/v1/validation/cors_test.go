package validation

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// The refusals, with their messages, are tested through the API server in test/webhooks;
// these are the origins that must stay accepted.
func TestOriginsAccepted(t *testing.T) {
	for _, o := range []string{"*", "https://shop.example.com", "https://Shop.Example.com", "https://*.example.com",
		"https://a.example:443", "http://localhost:8080", "http://[::1]:8080", "https://a.com/", "http://192.0.2.10"} {
		assert.Empty(t, originProblem(o), o)
	}
	for _, o := range []string{"https://*", "https://*.", "https://api.*.com", "https://*.*.com", "https://a*.com", "https://a.com:0", "https://a.com:65536"} {
		assert.NotEmpty(t, originProblem(o), o)
	}
}
