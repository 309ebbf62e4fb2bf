package helm

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// TestAsTheCanvasDependency: put in the canvas's umbrella chart in place of its own
// api-operator-istio chart, ours gets the canvas's values for it (testdata) and renders
// what our own keys for the same settings render, global values and all; a value of ours
// that disagrees with the canvas's fails the install and names both.
func TestAsTheCanvasDependency(t *testing.T) {
	umbrella := umbrellaChart(t)
	values := filepath.Join(testdata(t), "canvas-oda-values.yaml")
	got := renderDir(t, umbrella, "-f", values, "--set", "global.imagePullSecrets[0].name=registry")
	want := renderDir(t, chartDir(t), "--set", "watchNamespaces={components,odacompns-*}", "--set", "openmetricsImplementation=PrometheusAnnotation",
		"--set", "logLevel=20", "--set", "componentGateway=canvas/component-gateway", "--set", "imagePullSecrets[0].name=registry")
	require.Equal(t, len(want), len(got))
	for i := range want {
		assert.Equal(t, want[i].Object, got[i].Object, "%s %s", want[i].GetKind(), want[i].GetName())
	}
	assert.Equal(t, "components,odacompns-*", envValue(container(t, got), "COMPONENT_NAMESPACE"), "the canvas's value reached the operator")

	// The canvas's values.yaml writes its pull secrets as bare names; a PodSpec wants
	// {name: ...}, and a bare string there fails the upgrade at the API server.
	got = renderDir(t, umbrella, "-f", values, "--set", "global.imagePullSecrets={regcred}",
		"--set", "api-operator-istio.imagePullSecrets={own}", "--set", "api-operator-istio.imagePullSecrets[1].name=mapped")
	secrets, _, _ := unstructured.NestedSlice(find(t, got, "Deployment", fullname).Object, "spec", "template", "spec", "imagePullSecrets")
	assert.Equal(t, []any{map[string]any{"name": "own"}, map[string]any{"name": "mapped"}, map[string]any{"name": "regcred"}}, secrets)

	out, err := helm(t, "template", release, umbrella, "--namespace", releaseNS, "-f", values,
		"--set", "api-operator-istio.openmetricsImplementation=DataDogAnnotation")
	require.Error(t, err)
	assert.Contains(t, out, `openmetricsImplementation is "DataDogAnnotation" but the canvas chart's value for it is "PrometheusAnnotation": set one of them`)
}

// umbrellaChart is a chart that depends on ours as the canvas's umbrella chart depends on
// its api-operator-istio chart, with ours in its charts/.
func umbrellaChart(t *testing.T) string {
	dir := t.TempDir()
	putDependency(t, dir, chartDir(t), "0.1.0")
	return dir
}

// putDependency makes dir the canvas's umbrella chart with the chart in src, of version, as
// its api-operator-istio dependency, in place of the one there before; the umbrella's
// templates are the helpers the canvas's own dependency takes from it.
func putDependency(t *testing.T, dir, src, version string) {
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Chart.yaml"), []byte(`apiVersion: v2
name: canvas-oda
version: 1.0.0
dependencies:
  - name: api-operator-istio
    version: "`+version+`"
    repository: 'file://../api-operator-istio'
    condition: api-operator-istio.enabled
`), 0o644))
	helpers := readFile(t, filepath.Join(testdata(t), "canvas-oda-helpers.tpl"))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "templates"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "templates", "_helpers.tpl"), helpers, 0o644))
	dep := filepath.Join(dir, "charts", "api-operator-istio")
	require.NoError(t, os.RemoveAll(dep))
	require.NoError(t, os.CopyFS(dep, os.DirFS(src)))
}

func testdata(t *testing.T) string {
	return filepath.Join(harness.RepoRoot(t), "test", "helm", "testdata")
}

// TestCRDKept: the chart's CRD, when it installs one, carries helm.sh/resource-policy: keep
// unless crds.keep is false, so that helm uninstall (or turning crds.install off) does not
// delete every ExposedAPI in the cluster and, through them, every route.
func TestCRDKept(t *testing.T) {
	policy := func(sets ...string) (string, bool) {
		for _, obj := range render(t, sets...) {
			if obj.GetKind() == "CustomResourceDefinition" {
				return obj.GetAnnotations()["helm.sh/resource-policy"], true
			}
		}
		return "", false
	}
	_, found := policy()
	assert.False(t, found, "no CRD by default: the canvas's own is installed")
	got, found := policy("crds.install=true")
	assert.True(t, found)
	assert.Equal(t, "keep", got)
	got, found = policy("crds.install=true", "crds.keep=false")
	assert.True(t, found, "crds.keep=false still installs the CRD, without the keep policy")
	assert.Empty(t, got)
}
