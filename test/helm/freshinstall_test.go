package helm

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// TestFreshCanvasInstall: a first `helm install` of the canvas's umbrella chart with ours as
// its api-operator-istio dependency, where a sibling dependency installs cert-manager's CRDs
// from its templates in the same release (as the canvas's cert-manager-init does, with
// installCRDs), succeeds with the default certManager.enabled=auto: cert-manager's kinds are
// unknown when Helm maps the manifest, so ours renders none and takes the self-managed CA.
// Once the operator has made its CA Secret, an upgrade keeps the release self-managed though
// cert-manager.io/v1 is now served; a release with no such Secret on the same cluster gets
// cert-manager.
func TestFreshCanvasInstall(t *testing.T) {
	ctx := context.Background()
	env := harness.Start(t, harness.Generated)
	env.Namespace(t, canvasNS)
	admin := env.Kubeconfig(t, "installer", "system:masters")
	umbrella := t.TempDir()
	putDependency(t, umbrella, chartDir(t), "0.1.0")
	addCRDsInTemplatesDependency(t, umbrella)
	var sets []string
	for _, s := range ourTestValues(t) {
		if !strings.HasPrefix(s, "api-operator-istio.certManager.") {
			sets = append(sets, s)
		}
	}

	out, err := canvasHelm(t, admin, "install", umbrella, sets...)
	require.NoError(t, err, out)
	assertSelfManaged(t, releaseManifest(t, admin))

	// The self-managed operator makes its CA Secret when it starts; it stays after an
	// uninstall too.
	require.NoError(t, env.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: canvasNS, Name: fullname + "-ca"}}))
	out, err = canvasHelm(t, admin, "upgrade", umbrella, sets...)
	require.NoError(t, err, out)
	assertSelfManaged(t, releaseManifest(t, admin))

	env.Namespace(t, "elsewhere")
	out, err = helm(t, "template", "other", chartDir(t), "--namespace", "elsewhere", "--kubeconfig", admin, "--dry-run=server", "--validate")
	require.NoError(t, err, out)
	kinds := map[string]int{}
	for _, obj := range manifestObjects(t, out) {
		kinds[obj.GetKind()]++
	}
	assert.Equal(t, 2, kinds["Certificate"], "a release with no CA Secret of its own: cert-manager, now that it is served")
}

// addCRDsInTemplatesDependency gives the umbrella chart in dir a second dependency that, as
// cert-manager's chart with installCRDs, has cert-manager's CRDs among its templates.
func addCRDsInTemplatesDependency(t *testing.T, dir string) {
	chart := filepath.Join(dir, "charts", "cert-manager")
	require.NoError(t, os.MkdirAll(filepath.Join(chart, "templates"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(chart, "Chart.yaml"), []byte("apiVersion: v2\nname: cert-manager\nversion: 1.11.0\n"), 0o644))
	crds := filepath.Join(harness.ModuleDir(t, "github.com/cert-manager/cert-manager"), "deploy", "crds")
	var docs []string
	for _, f := range []string{"cert-manager.io_issuers.yaml", "cert-manager.io_certificates.yaml"} {
		docs = append(docs, string(readFile(t, filepath.Join(crds, f))))
	}
	require.NoError(t, os.WriteFile(filepath.Join(chart, "templates", "crds.yaml"), []byte(strings.Join(docs, "\n---\n")), 0o644))
	f, err := os.OpenFile(filepath.Join(dir, "Chart.yaml"), os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString("  - name: cert-manager\n    version: 1.11.0\n    repository: 'file://../cert-manager'\n")
	require.NoError(t, err)
	require.NoError(t, f.Close())
}

func releaseManifest(t *testing.T, kubeconfig string) []*unstructured.Unstructured {
	out, err := helm(t, "get", "manifest", "canvas", "--namespace", canvasNS, "--kubeconfig", kubeconfig)
	require.NoError(t, err, out)
	return manifestObjects(t, out)
}

func manifestObjects(t *testing.T, out string) []*unstructured.Unstructured {
	var objs []*unstructured.Unstructured
	for _, doc := range strings.Split(out, "\n---") {
		u := &unstructured.Unstructured{}
		if yaml.Unmarshal([]byte(doc), &u.Object) == nil && u.GetKind() != "" {
			objs = append(objs, u)
		}
	}
	require.NotEmpty(t, objs)
	return objs
}

// assertSelfManaged: the release has no cert-manager object of ours, and the operator makes
// its own certificate.
func assertSelfManaged(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	for _, obj := range objs {
		assert.NotContains(t, []string{"Certificate", "Issuer"}, obj.GetKind(), obj.GetName())
		assert.Empty(t, obj.GetAnnotations()["cert-manager.io/inject-ca-from"], "%s %s", obj.GetKind(), obj.GetName())
	}
	volumes, _, _ := unstructured.NestedSlice(find(t, objs, "Deployment", deployment).Object, "spec", "template", "spec", "volumes")
	assert.Equal(t, map[string]any{}, volumes[0].(map[string]any)["emptyDir"])
}
