package webhooks

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	jsonpatch "github.com/evanphx/json-patch/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/util/validation/field"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/api/v1/validation"
)

func FuzzNormalizePath(f *testing.F) {
	f.Fuzz(func(t *testing.T, p string) {
		once := validation.NormalizePath(p)
		if p == "" {
			require.Empty(t, once)
			return
		}
		require.Equal(t, once, validation.NormalizePath(once), "normalising twice equals once")
		if !strings.HasPrefix(once, "/") || slices.Contains(strings.Split(once, "/"), "..") || slices.Contains(strings.Split(once, "/"), ".") {
			// An absolute URL, or dot segments only: kept as written for the validator to refuse.
			require.Equal(t, validation.DecodeUnreserved(p), once, "only a value kept as written (its unreserved escapes decoded) is not a clean path")
			require.True(t, pathRefused(once), "the validator refuses %q", once)
			return
		}
		require.True(t, strings.HasPrefix(once, "/"), "one leading slash: %q", once)
		require.NotContains(t, once, "//")
		require.Equal(t, once, validation.DecodeUnreserved(once), "no escape of an unreserved character: %q", once)
		if once != "/" {
			require.False(t, strings.HasSuffix(once, "/"), "no trailing slash: %q", once)
		}
		for _, seg := range strings.Split(once, "/") {
			require.NotContains(t, []string{".", ".."}, seg, "no dot segments: %q", once)
		}
	})
}

// FuzzDefaultThenValidate: Default never panics nor loses a field; its output defaulted
// again is unchanged; and its paths pass the validator whenever they hold only characters
// a path may hold.
func FuzzDefaultThenValidate(f *testing.F) {
	f.Fuzz(func(t *testing.T, raw []byte) {
		out, _, err := Default(raw)
		if err != nil {
			return
		}
		again, _, err := Default(out)
		require.NoError(t, err)
		require.JSONEq(t, string(out), string(again), "defaulting twice equals once")
		patch, err := jsonpatch.CreateMergePatch(raw, out)
		require.NoError(t, err)
		assertOnlyDefaultedFields(t, patch)

		var api odav1.ExposedAPI
		if decodeAPI(out, &api) != nil { // case-sensitive keys, as the validator reads them
			return
		}
		for _, e := range validation.ValidateSpec(&api.Spec, field.NewPath("spec")) {
			if (e.Field == "spec.path" || e.Field == "spec.developerUI") && e.Type == field.ErrorTypeInvalid {
				require.Regexp(t, "cannot be in a URI path prefix|cannot be in a URI query or fragment|not a URL|names no path|must be a string", e.Detail,
					"a defaulted path is only refused for its characters, as a URL or dot segments only kept as written, or as no string at all: %v", e)
			}
		}
	})
}

// pathRefused tells whether the validator refuses p as spec.path.
func pathRefused(p string) bool {
	for _, e := range validation.ValidateSpec(&odav1.ExposedAPISpec{Path: p}, field.NewPath("spec")) {
		if e.Field == "spec.path" {
			return true
		}
	}
	return false
}

func assertOnlyDefaultedFields(t *testing.T, mergePatch []byte) {
	t.Helper()
	var p map[string]any
	require.NoError(t, json.Unmarshal(mergePatch, &p))
	for k := range p {
		require.Equal(t, "spec", k, "Default changes nothing outside spec")
	}
	spec, _ := p["spec"].(map[string]any)
	for k := range spec {
		require.Contains(t, []string{"path", "developerUI", "apiType", "segment", "specification"}, k)
	}
}

func TestDefaultLeavesAGoodObjectAlone(t *testing.T) {
	in := `{"apiVersion":"oda.tmforum.org/v1","kind":"ExposedAPI","metadata":{"name":"a"},"spec":{"name":"a","apiType":"openapi",` +
		`"implementation":"impl","path":"/a","port":8080,"segment":"coreFunction","big":12345678901234567890,"x":{"y":[1,2.5]}}}`
	out, warnings, err := Default([]byte(in))
	require.NoError(t, err)
	assert.Empty(t, warnings)
	assert.JSONEq(t, in, string(out))
	assert.Contains(t, string(out), "12345678901234567890", "numbers are kept exactly")
}

func TestDefaultRefusesWhatIsNotAnObject(t *testing.T) {
	_, _, err := Default([]byte(`[1,2]`))
	require.EqualError(t, err, "the object is not a JSON object: json: cannot unmarshal array into Go value of type map[string]interface {}")
	for _, in := range []string{`{"spec":"x"}`, `{"metadata":{"name":"a"}}`, `{"spec":null}`} {
		out, warnings, err := Default([]byte(in))
		require.NoError(t, err, "a spec that is not an object is left for validation to refuse")
		assert.Empty(t, warnings)
		assert.JSONEq(t, in, string(out))
	}
}
