package integration

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// sampleAPIs reads every ExposedAPI document of config/samples.
func sampleAPIs(t *testing.T) []*unstructured.Unstructured {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(harness.RepoRoot(t), "config", "samples", "*.yaml"))
	require.NoError(t, err)
	var out []*unstructured.Unstructured
	for _, f := range files {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, doc := range bytes.Split(raw, []byte("\n---")) {
			js, err := yaml.YAMLToJSON(doc)
			require.NoError(t, err, f)
			u := &unstructured.Unstructured{}
			if u.UnmarshalJSON(js) == nil && u.GetKind() == "ExposedAPI" {
				out = append(out, u)
			}
		}
	}
	require.GreaterOrEqual(t, len(out), 5, "the samples hold the full-featured API and at least four more")
	return out
}

func apiObject(name string, spec map[string]any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "oda.tmforum.org/v1", "kind": "ExposedAPI",
		"metadata": map[string]any{"name": name, "namespace": "components",
			"labels": map[string]any{"oda.tmforum.org/componentName": "demo"}},
		"spec": spec,
	}}
	return u
}

func baseSpec() map[string]any {
	return map[string]any{"name": "x", "apiType": "openapi", "implementation": "impl", "path": "/x", "port": int64(8080)}
}

func with(spec map[string]any, k string, v any) map[string]any {
	out := map[string]any{}
	for key, val := range spec {
		out[key] = val
	}
	if v == nil {
		delete(out, k)
	} else {
		out[k] = v
	}
	return out
}

// TestGeneratedCRDAcceptsWhatODAAccepts stores the same objects through both CRD sets (no
// webhook) and compares: what the ODA CRD accepts ours accepts and stores alike, and what
// it refuses for a missing required field or a bad enum ours refuses too.
func TestGeneratedCRDAcceptsWhatODAAccepts(t *testing.T) {
	if _, err := os.Stat(harness.ODACRDDir(t)); err != nil {
		t.Skipf("the ODA Canvas CRDs are not at %s: %v", harness.ODACRDDir(t), err)
	}
	ours, oda := harness.Start(t, harness.Generated), harness.Start(t, harness.ODA)
	for _, env := range []*harness.Env{ours, oda} {
		env.Namespace(t, "components")
	}
	good := sampleAPIs(t)
	good = append(good,
		apiObject("unknown-fields", with(with(baseSpec(), "futureField", map[string]any{"a": "b"}), "basicAuth",
			map[string]any{"username": map[string]any{"name": "s", "key": "u"}})),
		apiObject("bare-spec-url", with(baseSpec(), "specification", map[string]any{"url": "https://e.com/a.yaml"})),
	)
	for _, u := range good {
		t.Run("accepts "+u.GetName(), func(t *testing.T) {
			stored := map[string]any{}
			for _, env := range []*harness.Env{ours, oda} {
				obj := u.DeepCopy()
				require.NoError(t, env.Client.Create(context.Background(), obj), string(env.Set))
				got := &unstructured.Unstructured{}
				got.SetGroupVersionKind(obj.GroupVersionKind())
				require.NoError(t, env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), got))
				stored[string(env.Set)] = got.Object["spec"]
			}
			assert.Equal(t, u.Object["spec"], stored[string(harness.Generated)], "ours prunes and changes nothing")
			// The ODA schema types resources' items as bare objects, so it prunes their fields;
			// ours keeps them. Everything else must be stored alike.
			assert.Equal(t, with(stored[string(harness.ODA)].(map[string]any), "resources", nil),
				with(stored[string(harness.Generated)].(map[string]any), "resources", nil), "both CRDs store the same spec")
		})
	}
	bad := map[string]map[string]any{
		"no-name":           with(baseSpec(), "name", nil),
		"no-apitype":        with(baseSpec(), "apiType", nil),
		"no-implementation": with(baseSpec(), "implementation", nil),
		"no-path":           with(baseSpec(), "path", nil),
		"no-port":           with(baseSpec(), "port", nil),
		"bad-apitype":       with(baseSpec(), "apiType", "graphql"),
		"bad-segment":       with(baseSpec(), "segment", "edgeFunction"),
		"port-as-string":    with(baseSpec(), "port", "8080"),
	}
	for name, spec := range bad {
		t.Run("refuses "+name, func(t *testing.T) {
			for _, env := range []*harness.Env{ours, oda} {
				err := env.Client.Create(context.Background(), apiObject(name, spec))
				assert.Error(t, err, "%s must refuse %s", env.Set, name)
			}
		})
	}
}

// TestPrinterColumnsMatchODA: kubectl get shows the ODA columns, plus Ready and Age.
func TestPrinterColumnsMatchODA(t *testing.T) {
	ours := harness.ReadCRDs(t, filepath.Join(harness.RepoRoot(t), "config", "crd", "bases", "oda.tmforum.org_exposedapis.yaml"))[0]
	require.Len(t, ours.Spec.Versions, 1)
	got := map[string]string{}
	for _, c := range ours.Spec.Versions[0].AdditionalPrinterColumns {
		got[c.Name] = c.JSONPath
	}
	assert.Equal(t, `.status.conditions[?(@.type=="Ready")].status`, got["Ready"])
	assert.Equal(t, ".metadata.creationTimestamp", got["Age"])
	if _, err := os.Stat(harness.ODACRDDir(t)); err != nil {
		t.Skipf("the ODA Canvas CRDs are not at %s: %v", harness.ODACRDDir(t), err)
	}
	oda := harness.ReadCRDs(t, filepath.Join(harness.ODACRDDir(t), "oda-exposedapi-crd.yaml"))[0]
	for _, v := range oda.Spec.Versions {
		if v.Name != "v1" {
			continue
		}
		require.NotEmpty(t, v.AdditionalPrinterColumns)
		for _, c := range v.AdditionalPrinterColumns {
			assert.Equal(t, c.JSONPath, got[c.Name], "column %s", c.Name)
		}
	}
	assert.NotNil(t, ours.Spec.Versions[0].Subresources, "our CRD has the status subresource")
}
