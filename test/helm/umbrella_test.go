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
	// The canvas's values misspell the canvas chart's deployment.operatorName (operatrorName):
	// the Deployment keeps its default name, the Python chart's.
	require.Contains(t, string(readFile(t, values)), "operatrorName: api-operator-istio")
	find(t, got, "Deployment", "api-operator-istio")

	// The canvas's values.yaml writes its pull secrets as bare names; a PodSpec wants
	// {name: ...}, and a bare string there fails the upgrade at the API server.
	got = renderDir(t, umbrella, "-f", values, "--set", "global.imagePullSecrets={regcred}",
		"--set", "api-operator-istio.imagePullSecrets={own}", "--set", "api-operator-istio.imagePullSecrets[1].name=mapped")
	secrets, _, _ := unstructured.NestedSlice(find(t, got, "Deployment", deployment).Object, "spec", "template", "spec", "imagePullSecrets")
	assert.Equal(t, []any{map[string]any{"name": "own"}, map[string]any{"name": "mapped"}, map[string]any{"name": "regcred"}}, secrets)

	out, err := helm(t, "template", release, umbrella, "--namespace", releaseNS, "-f", values,
		"--set", "api-operator-istio.openmetricsImplementation=DataDogAnnotation")
	require.Error(t, err)
	assert.Contains(t, out, `openmetricsImplementation is "DataDogAnnotation" but the canvas chart's value for it is "PrometheusAnnotation": set one of them`)
}

// TestCanvasKeysAgainstOursSetToDefault: as the canvas's dependency, a value of ours set
// explicitly fails the install when it disagrees with the canvas key for it, even when it
// is our default (README's drain step openmetricsImplementation=ServiceMonitor would
// otherwise do nothing on a canvas, the canvas's PrometheusAnnotation winning silently); one
// that means what the canvas key says (info and 20) renders. A componentGateway in the
// release namespace that is not the Gateway the chart creates fails too.
func TestCanvasKeysAgainstOursSetToDefault(t *testing.T) {
	umbrella := umbrellaChart(t)
	values := filepath.Join(testdata(t), "canvas-oda-values.yaml")
	allNamespaces := filepath.Join(t.TempDir(), "all-namespaces.yaml")
	require.NoError(t, os.WriteFile(allNamespaces, []byte("api-operator-istio:\n  watchNamespaces: []\n"), 0o644))
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--set", "api-operator-istio.openmetricsImplementation=ServiceMonitor"},
			`openmetricsImplementation is "ServiceMonitor" but the canvas chart's value for it is "PrometheusAnnotation": set one of them`},
		{[]string{"-f", allNamespaces}, `watchNamespaces is "" but the canvas chart's value for it is "components,odacompns-*": set one of them`},
		{[]string{"--set", "api-operator-istio.watchNamespaces={odacompns-*}"}, `watchNamespaces is "odacompns-*" but the canvas chart's value for it is "components,odacompns-*": set one of them`},
		{[]string{"--set", "api-operator-istio.logLevel=debug"}, `logLevel is "debug" but the canvas chart's value for it is "20"`},
		{[]string{"--set", "api-operator-istio.gateway.create=true", "--set", "api-operator-istio.deployment.istioGateway=false"},
			`gateway.create is "true" but the canvas chart's value for it is "false"`},
		{[]string{"--set", "api-operator-istio.gateway.hostName=*", "--set", "api-operator-istio.deployment.hostName=apis.example.com"},
			`gateway.hostName is "*" but the canvas chart's value for it is "apis.example.com"`},
		{[]string{"--set", "api-operator-istio.gateway.httpsRedirect=true", "--set", "api-operator-istio.httpsRedirect=false"},
			`gateway.httpsRedirect is "true" but the canvas chart's value for it is "false"`},
		{[]string{"--set", "api-operator-istio.gateway.credentialName=istio-ingress-cert", "--set", "api-operator-istio.credentialName=shop-cert"},
			`gateway.credentialName is "istio-ingress-cert" but the canvas chart's value for it is "shop-cert"`},
		// The chart would make canvas/other and delete the component-gateway it had made,
		// while the routes still name canvas/component-gateway.
		{[]string{"--set", "api-operator-istio.gateway.name=other"},
			`the canvas chart's configmap.componentGateway is "canvas/component-gateway" but the chart creates the Gateway canvas/other`},
	} {
		out, err := helm(t, append([]string{"template", release, umbrella, "--namespace", canvasNS, "-f", values}, c.args...)...)
		require.Error(t, err, c.args)
		assert.Contains(t, out, c.want, c.args)
	}
	for _, args := range [][]string{
		{"--set", "api-operator-istio.logLevel=info"},
		{"--set", "api-operator-istio.logLevel=20"},
		{"--set", "api-operator-istio.openmetricsImplementation=PrometheusAnnotation"},
		// The canvas's namespaces in another order: the same ones.
		{"--set", "api-operator-istio.watchNamespaces={odacompns-*,components}"},
		{"--set", "api-operator-istio.gateway.create=true", "--set", "api-operator-istio.gateway.hostName=*"},
		// Empty is the chart's own Gateway: canvas/component-gateway when installed in canvas.
		{"--set", "api-operator-istio.componentGateway="},
		// Set the canvas key, as a drain on a canvas does.
		{"--set", "api-operator-istio.deployment.openMetricsImplementation=ServiceMonitor"},
	} {
		out, err := helm(t, append([]string{"template", release, umbrella, "--namespace", canvasNS, "-f", values}, args...)...)
		assert.NoError(t, err, "%v: %s", args, out)
	}
	assert.Equal(t, "ServiceMonitor", envValue(container(t, renderDir(t, umbrella, "-f", values,
		"--set", "api-operator-istio.deployment.openMetricsImplementation=ServiceMonitor")), "OPENMETRICS_IMPLEMENTATION"))

	out, err := helm(t, "template", release, chartDir(t), "--namespace", releaseNS, "--set", "componentGateway="+releaseNS+"/public")
	require.Error(t, err)
	assert.Contains(t, out, `componentGateway is "`+releaseNS+`/public" but the chart creates the Gateway `+releaseNS+`/component-gateway (gateway.name, gateway.create)`)
	out, err = helm(t, "template", release, chartDir(t), "--namespace", releaseNS, "--set", "componentGateway="+releaseNS+"/public", "--set", "gateway.create=false")
	assert.NoError(t, err, out)
}

// TestSettingDefaults: the canvas-mapped values are null in values.yaml and the chart
// applies their defaults, which are what values.yaml's comments and README say, and, for
// the component Gateway, the canvas's own defaults (deployment.istioGateway, hostName,
// httpsRedirect, credentialName): each set explicitly to that default renders exactly the
// defaults' rendering.
func TestSettingDefaults(t *testing.T) {
	explicit := filepath.Join(t.TempDir(), "explicit.yaml")
	require.NoError(t, os.WriteFile(explicit, []byte(`watchNamespaces: []
logLevel: info
openmetricsImplementation: ServiceMonitor
componentGateway: ""
publicHostname: ""
gateway: {create: true, hostName: "*", httpsRedirect: true, credentialName: istio-ingress-cert}
`), 0o644))
	want, got := render(t), renderDir(t, chartDir(t), "-f", explicit)
	require.Equal(t, len(want), len(got))
	for i := range want {
		assert.Equal(t, want[i].Object, got[i].Object, "%s %s", want[i].GetKind(), want[i].GetName())
	}
	c := container(t, got)
	assert.Equal(t, "ServiceMonitor", envValue(c, "OPENMETRICS_IMPLEMENTATION"))
	assert.Equal(t, "info", envValue(c, "LOGGING"))
	assert.Equal(t, "", envValue(c, "COMPONENT_NAMESPACE"))
	assert.Equal(t, releaseNS+"/component-gateway", envValue(c, "APIOPERATORISTIO_COMPONENTGATEWAY"))
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

// TestGatewayKept: the chart's component Gateway carries helm.sh/resource-policy: keep, so
// that an uninstall, gateway.create turned off, or a rollback to the canvas's chart (which
// makes it only in a hook a rollback does not run) leaves the Gateway every API's route
// attaches to, as the canvas's chart leaves its own.
func TestGatewayKept(t *testing.T) {
	var gateways []string
	for _, obj := range render(t) {
		if obj.GetKind() == "Gateway" {
			gateways = append(gateways, obj.GetName())
			assert.Equal(t, "keep", obj.GetAnnotations()["helm.sh/resource-policy"], obj.GetName())
		}
	}
	assert.Equal(t, []string{"component-gateway"}, gateways)
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
