package webhooks

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/oda-canvas/api-operator-istio/test/harness"
)

const olderManifests = `apiVersion: oda.tmforum.org/v1beta4
kind: ExposedAPI
metadata:
  name: beta4
  namespace: components
  labels: {oda.tmforum.org/componentName: shop}
spec:
  name: catalog
  apiType: openapi
  implementation: catalog
  path: /beta4//catalog/
  port: 8080
  specification:
  - {url: "https://e.com/a.yaml", version: v4}
  - {url: "https://e.com/b.yaml", version: v5}
---
apiVersion: oda.tmforum.org/v1beta3
kind: ExposedAPI
metadata:
  name: beta3
  namespace: components
  labels: {oda.tmforum.org/componentName: shop}
spec:
  name: catalog
  apiType: openapi
  implementation: catalog
  path: /beta3
  port: 8080
  specification: ["https://e.com/c.yaml"]
`

const olderBadPort = `apiVersion: oda.tmforum.org/v1beta4
kind: ExposedAPI
metadata:
  name: beta4-bad
  namespace: components
  labels: {oda.tmforum.org/componentName: shop}
spec:
  name: catalog
  apiType: openapi
  implementation: catalog
  path: /bad
  port: 70000
  specification: [{url: "https://e.com/a.yaml"}]
`

// olderBadEntries: in the older versions every entry of the list is checked, and named as
// written; the first entry of each is good.
const olderBadEntries = `apiVersion: oda.tmforum.org/v1beta3
kind: ExposedAPI
metadata:
  name: beta3-bad
  namespace: components
  labels: {oda.tmforum.org/componentName: shop}
spec:
  name: catalog
  apiType: openapi
  implementation: catalog
  path: /beta3-bad
  port: 8080
  specification: ["https://e.com/c.yaml", "openapi.yaml", ""]
---
apiVersion: oda.tmforum.org/v1beta4
kind: ExposedAPI
metadata:
  name: beta4-bad
  namespace: components
  labels: {oda.tmforum.org/componentName: shop}
spec:
  name: catalog
  apiType: openapi
  implementation: catalog
  path: /beta4-bad
  port: 8080
  specification: [{url: "https://e.com/a.yaml"}, {url: "openapi.yaml"}, {url: ""}]
`

// TestOlderVersionsThroughKubectl (R2.5): the canvas CRD serves v1beta3 and v1beta4 with no
// conversion; a write in those versions is admitted as the CRD alone admits it, keeps the
// shape its version holds, is still validated, and is reconciled by its v1 meaning. Our CRD
// serves v1 only, which the API server says.
func TestOlderVersionsThroughKubectl(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		env := startWithWebhooks(t, set)
		env.Gateway(t, "20.0.0.1", "")
		env.Implementation(t, "components", "catalog", 8080, true)
		apply := kubectlApply(t, env)

		out, err := apply(olderManifests)
		if set == harness.Generated {
			require.Error(t, err)
			assert.Contains(t, out, `no matches for kind "ExposedAPI" in version "oda.tmforum.org/v1beta4"`)
			return
		}
		require.NoError(t, err, out)
		assert.Contains(t, out, "exposedapi.oda.tmforum.org/beta4 created")
		assert.Contains(t, out, "exposedapi.oda.tmforum.org/beta3 created")
		assert.Contains(t, out, "Warning: spec.specification: written as v1beta4, a list of 2; the operator exposes the first entry (the v1 meaning), but a CRD that stores v1 (the canvas's does) keeps no url or version of any entry: write the ExposedAPI as v1, with specification {url, version}, to keep them")

		// As stored: the canvas CRD itself prunes the fields of v1beta4's specification
		// entries (its storage version v1 holds one object there); nothing the operator
		// writes may change what is left.
		beta4 := getAs(t, env, "oda.tmforum.org/v1beta4", "beta4")
		spec := beta4.Object["spec"].(map[string]any)
		assert.Equal(t, "/beta4/catalog", spec["path"], "normalised")
		assert.Equal(t, []any{map[string]any{}, map[string]any{}}, spec["specification"], "the list its version holds, both entries, their fields pruned")
		assert.NotContains(t, spec, "segment", "v1beta4 has no segment")
		assert.Equal(t, []any{"https://e.com/c.yaml"}, getAs(t, env, "oda.tmforum.org/v1beta3", "beta3").Object["spec"].(map[string]any)["specification"])

		for _, name := range []string{"beta4", "beta3"} {
			harness.Eventually(t, name+" Ready", func() error { return condition(env, name, "Ready", "True", "") })
		}
		harness.Eventually(t, "the v1 meaning in status", func() error {
			return statusURL(env, "beta4", "https://20.0.0.1/beta4/catalog")
		})
		assert.Equal(t, spec, getAs(t, env, "oda.tmforum.org/v1beta4", "beta4").Object["spec"], "status writes left the spec alone")
		assert.Equal(t, []any{"https://e.com/c.yaml"}, getAs(t, env, "oda.tmforum.org/v1beta3", "beta3").Object["spec"].(map[string]any)["specification"],
			"status writes left the spec alone")

		out, err = apply(olderBadPort)
		require.Error(t, err)
		assert.Contains(t, out, "\n"+`The ExposedAPI "beta4-bad" is invalid: spec.port: Invalid value: 70000: must be a port number from 1 to 65535`+"\n")

		out, err = apply(olderBadEntries)
		require.Error(t, err)
		assert.Contains(t, out, `ExposedAPI.oda.tmforum.org "beta3-bad" is invalid: [`+
			`spec.specification[1]: Invalid value: "openapi.yaml": must be an absolute http or https URL, e.g. https://example.com/api/openapi.yaml, `+
			`spec.specification[2]: Required value: the URL of the API's specification document, e.g. https://example.com/api/openapi.yaml]`)
		assert.Contains(t, out, `ExposedAPI.oda.tmforum.org "beta4-bad" is invalid: [`+
			`spec.specification[1].url: Invalid value: "openapi.yaml": must be an absolute http or https URL, e.g. https://example.com/api/openapi.yaml, `+
			`spec.specification[2].url: Required value: the URL of the API's specification document, e.g. https://example.com/api/openapi.yaml]`)
		assert.NotContains(t, out, "spec.specification.url")

		beta4 = getAs(t, env, "oda.tmforum.org/v1beta4", "beta4")
		beta4.Object["spec"].(map[string]any)["path"] = "/beta4/moved"
		require.NoError(t, env.Client.Update(context.Background(), beta4), "a client edits what it read: the entries the CRD pruned are not its to fix")
	})
}

func kubectlApply(t *testing.T, env *harness.Env) func(manifest string) (string, error) {
	kubectl := filepath.Join(harness.RepoRoot(t), "bin", "k8s", "kubectl")
	if _, err := os.Stat(kubectl); err != nil {
		t.Skipf("no kubectl in bin/k8s: run make envtest-assets: %v", err)
	}
	kubeconfig := writeKubeconfig(t, env)
	return func(manifest string) (string, error) {
		path := filepath.Join(t.TempDir(), "manifest.yaml")
		require.NoError(t, os.WriteFile(path, []byte(manifest), 0o600))
		out, err := exec.Command(kubectl, "--kubeconfig", kubeconfig, "apply", "-f", path).CombinedOutput()
		return string(out), err
	}
}

func getAs(t *testing.T, env *harness.Env, apiVersion, name string) *unstructured.Unstructured {
	t.Helper()
	got := object(name, nil, nil)
	got.SetAPIVersion(apiVersion)
	require.NoError(t, env.Client.Get(t.Context(), client.ObjectKeyFromObject(got), got))
	return got
}

func statusURL(env *harness.Env, name, want string) error {
	got := object(name, nil, nil)
	if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(got), got); err != nil {
		return err
	}
	url, _, _ := unstructured.NestedString(got.Object, "status", "apiStatus", "url")
	if url != want {
		return fmt.Errorf("url %q, want %q", url, want)
	}
	return nil
}
