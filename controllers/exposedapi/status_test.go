package exposedapi

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
)

func TestNoteFitsAnEvent(t *testing.T) {
	assert.Equal(t, "short", note("short"))
	long := strings.Repeat("é", 600) // 1200 bytes
	got := note(long)
	assert.LessOrEqual(t, len(got), maxNote)
	assert.True(t, utf8.ValidString(got), "cut between characters")
	assert.True(t, strings.HasSuffix(got, "(see the condition)"))
}

// TestDeveloperUIKeepsItsQueryAndFragment: the status URL is the host and the developerUI
// normalised as the defaulting webhook stores it, its query and fragment as written.
func TestDeveloperUIKeepsItsQueryAndFragment(t *testing.T) {
	for in, want := range map[string]string{
		"/swagger-ui.html#/": "https://192.0.2.10/swagger-ui.html#/",
		"swagger-ui//./index.html?configUrl=/v3/api-docs/swagger-config": "https://192.0.2.10/swagger-ui/index.html?configUrl=/v3/api-docs/swagger-config",
	} {
		obs := &observed{spec: normalised(&odav1.ExposedAPISpec{Path: "/a", DeveloperUI: in}), route: Route{Address: "192.0.2.10"}}
		assert.Equal(t, want, apiStatus(&odav1.ExposedAPI{}, obs).DeveloperUI, in)
	}
}
