// Package webhooks tests the admission webhooks as a user meets them: the real API server
// calls the operator's webhook server.
package webhooks

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/oda-canvas/api-operator-istio/internal/app"
	"github.com/oda-canvas/api-operator-istio/test/harness"
)

func validSpec() map[string]any {
	return map[string]any{"name": "catalog", "apiType": "openapi", "implementation": "catalog", "path": "/catalog", "port": int64(8080)}
}

func object(name string, spec, labels map[string]any) *unstructured.Unstructured {
	if labels == nil {
		labels = map[string]any{"oda.tmforum.org/componentName": "shop"}
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "oda.tmforum.org/v1", "kind": "ExposedAPI",
		"metadata": map[string]any{"name": name, "namespace": "components", "labels": labels},
		"spec":     spec,
	}}
}

func merged(over map[string]any) map[string]any {
	spec := validSpec()
	for k, v := range over {
		if v == nil {
			delete(spec, k)
		} else {
			spec[k] = v
		}
	}
	return spec
}

// startWithWebhooks runs a control plane whose API server calls the operator's webhooks.
func startWithWebhooks(t *testing.T, set harness.CRDSet) *harness.Env {
	return startWithWebhooksAnd(t, set, harness.DefaultOptions())
}

// startWithWebhooksAnd is startWithWebhooks with the operator's options o.
func startWithWebhooksAnd(t *testing.T, set harness.CRDSet, o *app.Options) *harness.Env {
	env := harness.StartWithWebhooks(t, set)
	env.Namespace(t, "components")
	harness.StartOperator(t, env, o)
	require.NoError(t, harness.WaitForWebhook(context.Background(), env.Client, "components", harness.Wait))
	return env
}

func TestBadExposedAPIsAreRefused(t *testing.T) {
	require.GreaterOrEqual(t, len(badCases), 40)
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		env := startWithWebhooks(t, set)
		for _, c := range badCases {
			t.Run(c.name, func(t *testing.T) {
				err := env.Client.Create(context.Background(), object(c.name, merged(c.spec), c.labels))
				require.Error(t, err, "must be refused")
				prefix := `admission webhook "vexposedapi.oda.tmforum.org" denied the request: `
				if c.bySchema {
					prefix = ""
				}
				assert.Equal(t, prefix+`ExposedAPI.oda.tmforum.org "`+c.name+`" is invalid: `+c.want, err.Error())
			})
		}
	})
}

func TestGoodAndLegacyExposedAPIs(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		env := startWithWebhooks(t, set)
		c, warnings := env.WarningClient(t)
		ctx := context.Background()

		good := object("good", merged(map[string]any{"segment": "managementFunction", "futureField": "kept", "hostname": "192.0.2.10",
			"specification": map[string]any{"url": "https://e.com/a.yaml", "version": "v4"}}), nil)
		want := good.DeepCopy()
		require.NoError(t, c.Create(ctx, good))
		assert.Empty(t, warnings.Take())
		assert.Equal(t, want.Object["spec"], good.Object["spec"], "a good object is stored untouched")

		// The canvas's component operator writes {version} alone for an API its Component
		// gives a version and no specification URL.
		versionOnly := object("version-only", merged(map[string]any{"path": "/version-only", "specification": map[string]any{"version": "v4"}}), nil)
		require.NoError(t, c.Create(ctx, versionOnly), "a specification of a version alone")
		assert.Empty(t, warnings.Take())

		normalised := object("normalised", merged(map[string]any{"path": "%63atalog//v4/./x/%2e%2E/", "apiType": "OpenAPI",
			"developerUI": "/%64ocs/", "segment": nil}), nil)
		require.NoError(t, c.Create(ctx, normalised))
		spec := normalised.Object["spec"].(map[string]any)
		assert.Equal(t, "/catalog/v4", spec["path"])
		assert.Equal(t, "/docs", spec["developerUI"])
		assert.Equal(t, "openapi", spec["apiType"])
		assert.Equal(t, "coreFunction", spec["segment"])

		legacy := []struct {
			name  string
			value any
			want  map[string]any
			warn  string
		}{
			{"legacy-string", "https://e.com/a.yaml", map[string]any{"url": "https://e.com/a.yaml"},
				"spec.specification: converted from a string (an older shape) to the v1 object {url}"},
			{"legacy-strings", []any{"https://e.com/a.yaml", "https://e.com/b.yaml"}, map[string]any{"url": "https://e.com/a.yaml"},
				`spec.specification: converted from a list of 2 (an older shape) to the v1 object {url, version} of its first entry; dropped: "https://e.com/b.yaml"`},
			// The API server drops a warning that holds a control character, DEL and NEL
			// among them, which JSON leaves as they are; a URL's & is named as written.
			{"legacy-control", []any{"https://e.com/a.yaml", "https://e.com/b\u007f\u0085.yaml?a=1&b=2"}, map[string]any{"url": "https://e.com/a.yaml"},
				`spec.specification: converted from a list of 2 (an older shape) to the v1 object {url, version} of its first entry; dropped: "https://e.com/b\u007f\u0085.yaml?a=1&b=2"`},
		}
		if set == harness.Generated {
			// The ODA CRD refuses a list of objects while decoding, before any webhook (R2.1).
			legacy = append(legacy, struct {
				name  string
				value any
				want  map[string]any
				warn  string
			}{"legacy-objects", []any{map[string]any{"url": "https://e.com/a.yaml", "version": "v4"}, map[string]any{"url": "https://e.com/b.yaml", "version": "v5"}},
				map[string]any{"url": "https://e.com/a.yaml", "version": "v4"},
				`spec.specification: converted from a list of 2 (an older shape) to the v1 object {url, version} of its first entry; dropped: {"url":"https://e.com/b.yaml","version":"v5"}`})
		}
		for _, l := range legacy {
			obj := object(l.name, merged(map[string]any{"specification": l.value, "path": "/" + l.name}), nil)
			require.NoError(t, c.Create(ctx, obj), l.name)
			assert.Equal(t, []string{l.warn}, warnings.Take(), l.name)
			stored := &unstructured.Unstructured{}
			stored.SetGroupVersionKind(obj.GroupVersionKind())
			require.NoError(t, env.Client.Get(ctx, client.ObjectKeyFromObject(obj), stored))
			assert.Equal(t, l.want, stored.Object["spec"].(map[string]any)["specification"], l.name)
		}
	})
}

func TestRouteConflictAtAdmission(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		env := startWithWebhooks(t, set)
		ctx := context.Background()
		require.NoError(t, env.Client.Create(ctx, object("first", validSpec(), nil)))
		harness.Eventually(t, "the cache to see the first API", func() error {
			err := env.Client.Create(ctx, object("second", merged(map[string]any{"path": "/catalog/"}), nil), client.DryRunAll)
			if err == nil {
				return fmt.Errorf("not refused yet")
			}
			assert.Equal(t, `admission webhook "vexposedapi.oda.tmforum.org" denied the request: ExposedAPI.oda.tmforum.org "second" is invalid: `+
				`spec.path: Invalid value: "/catalog": route */catalog on gateway component-gateway is already exposed by ExposedAPI components/first; choose another path or hostname`, err.Error())
			return nil
		})
		// Keys are read as the API server stores them: "Hostname" is an unknown field, not the
		// host, so this is still */catalog and is refused.
		err := env.Client.Create(ctx, object("third", merged(map[string]any{"Hostname": "api.example.com"}), nil))
		require.Error(t, err, "a differently cased key does not slip past the conflict check")
		assert.Contains(t, err.Error(), "route */catalog on gateway component-gateway is already exposed by ExposedAPI components/first")
		// Another host is another route.
		require.NoError(t, env.Client.Create(ctx, object("other-host", merged(map[string]any{"hostname": "api.example.com"}), nil)))
	})
}

// TestKubectlApply runs the real kubectl against the control plane and checks what a user
// reads.
func TestKubectlApply(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		env := startWithWebhooks(t, set)
		out, err := kubectlApply(t, env)(`apiVersion: oda.tmforum.org/v1
kind: ExposedAPI
metadata:
  name: bad-port
  namespace: components
  labels: {oda.tmforum.org/componentName: shop}
spec:
  name: catalog
  apiType: openapi
  implementation: catalog
  path: /catalog
  port: 70000
`)
		require.Error(t, err)
		assert.Equal(t, `The ExposedAPI "bad-port" is invalid: spec.port: Invalid value: 70000: must be a port number from 1 to 65535`+"\n", out)
	})
}

func writeKubeconfig(t *testing.T, env *harness.Env) string {
	t.Helper()
	user, err := env.AddUser(envtest.User{Name: "tester", Groups: []string{"system:masters"}})
	require.NoError(t, err)
	raw, err := user.KubeConfig()
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "kubeconfig")
	require.NoError(t, os.WriteFile(path, raw, 0o600))
	return path
}

// TestRaceForOneRoute: APIs created at once for one route. The webhook refuses those whose
// rival it already sees; any that slip past it (cache lag) get RouteConflict from the
// controller. In the end exactly one VirtualService routes the path.
func TestRaceForOneRoute(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		env := startWithWebhooks(t, set)
		ctx := context.Background()
		names := []string{"r1", "r2", "r3", "r4", "r5", "r6"}
		errs := make(chan error, len(names))
		for _, n := range names {
			go func() { errs <- env.Client.Create(ctx, object(n, merged(map[string]any{"path": "/race"}), nil)) }()
		}
		var admitted []string
		for range names {
			if err := <-errs; err != nil {
				assert.Contains(t, err.Error(), "is already exposed by ExposedAPI components/")
			}
		}
		for _, n := range names {
			if env.Client.Get(ctx, client.ObjectKey{Namespace: "components", Name: n}, object(n, nil, nil)) == nil {
				admitted = append(admitted, n)
			}
		}
		require.NotEmpty(t, admitted)
		harness.Eventually(t, "exactly one VirtualService for /race, the others in conflict", func() error {
			owners, conflicts := 0, 0
			for _, n := range admitted {
				vs := &unstructured.Unstructured{}
				vs.SetAPIVersion("networking.istio.io/v1")
				vs.SetKind("VirtualService")
				if env.Client.Get(ctx, client.ObjectKey{Namespace: "components", Name: n}, vs) == nil {
					owners++
				}
				api := object(n, nil, nil)
				require.NoError(t, env.Client.Get(ctx, client.ObjectKeyFromObject(api), api))
				conds, _, _ := unstructured.NestedSlice(api.Object, "status", "conditions")
				for _, c := range conds {
					if m := c.(map[string]any); m["type"] == "Accepted" && m["reason"] == "RouteConflict" {
						conflicts++
					}
				}
			}
			if owners != 1 || conflicts != len(admitted)-1 {
				return fmt.Errorf("%d admitted, %d VirtualServices, %d in conflict", len(admitted), owners, conflicts)
			}
			return nil
		})
	})
}

// TestHostnamesAUserMeans: "*" is any host, as leaving hostname unset is, and a fully
// qualified name with its trailing dot is that name: both are admitted as written, and each
// is the same route as its plain form.
func TestHostnamesAUserMeans(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		env := startWithWebhooks(t, set)
		ctx := context.Background()
		for _, c := range []struct{ name, hostname, path, rival, route string }{
			{"any-host", "*", "/any", "", "*/any"},
			{"fqdn", "api.example.com.", "/fqdn", "api.example.com", "api.example.com/fqdn"},
		} {
			api := object(c.name, merged(map[string]any{"hostname": c.hostname, "path": c.path}), nil)
			require.NoError(t, env.Client.Create(ctx, api), c.name)
			spec := api.Object["spec"].(map[string]any)
			assert.Equal(t, c.hostname, spec["hostname"], "stored as written")
			rival := object(c.name+"-rival", merged(map[string]any{"hostname": c.rival, "path": c.path}), nil)
			harness.Eventually(t, "the cache to see "+c.name, func() error {
				err := env.Client.Create(ctx, rival, client.DryRunAll)
				if err == nil {
					return fmt.Errorf("not refused yet")
				}
				assert.Equal(t, `admission webhook "vexposedapi.oda.tmforum.org" denied the request: ExposedAPI.oda.tmforum.org "`+c.name+`-rival" is invalid: `+
					`spec.path: Invalid value: "`+c.path+`": route `+c.route+` on gateway component-gateway is already exposed by ExposedAPI components/`+c.name+`; choose another path or hostname`, err.Error())
				return nil
			})
		}
	})
}

// TestSpecificationOfNoKnownShape: a specification that is neither the v1 object nor an
// older shape (a string, a list of strings or of objects) is refused, also as the first
// entry of a list; a list in a list is refused as it is, not flattened one level at each
// defaulting. Our CRD keeps the field schemaless so that the older shapes reach the
// webhooks: the validating one refuses it. The canvas's CRD types it, so its API server does.
func TestSpecificationOfNoKnownShape(t *testing.T) {
	const mustBe = `: must be an object {url, version}, e.g. {"url": "https://example.com/api/openapi.yaml"}`
	cases := []struct {
		name      string
		value     any
		want, oda string
	}{
		{"number", int64(42), `Invalid value: 42` + mustBe, `Invalid value: "integer"`},
		{"list-of-numbers", []any{int64(42), "https://e.com/a.yaml"}, `Invalid value: 42` + mustBe, `Invalid value: "array"`},
		{"list-of-lists", []any{[]any{"https://e.com/a.yaml"}}, `Invalid value: ["https://e.com/a.yaml"]` + mustBe, `Invalid value: "array"`},
		{"list-null-first", []any{nil, "https://e.com/a.yaml"}, `Invalid value: null` + mustBe, `Invalid value: "array"`},
	}
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		env := startWithWebhooks(t, set)
		for _, c := range cases {
			err := env.Client.Create(context.Background(), object(c.name, merged(map[string]any{"specification": c.value}), nil))
			require.Error(t, err, c.name)
			want := "spec.specification: " + c.want
			if set == harness.ODA {
				want = "spec.specification: " + c.oda + ": spec.specification in body must be of type object"
			}
			assert.Contains(t, err.Error(), want, c.name)
		}
	})
}

// TestSpecThatIsNotAnObject: an ExposedAPI with no spec, or one that is not an object, is
// refused with the API server's usual 422 naming spec, not a 400 of the defaulting webhook.
func TestSpecThatIsNotAnObject(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		env := startWithWebhooks(t, set)
		for name, spec := range map[string]any{"no-spec": nil, "spec-string": "x"} {
			obj := object(name, nil, nil)
			obj.Object["spec"] = spec
			if spec == nil {
				delete(obj.Object, "spec")
			}
			err := env.Client.Create(context.Background(), obj)
			require.Error(t, err, name)
			assert.True(t, apierrors.IsInvalid(err), "%s: a 422 Invalid, not %v", name, err)
			assert.Contains(t, err.Error(), `ExposedAPI.oda.tmforum.org "`+name+`" is invalid: spec`, name)
		}
	})
}

// TestSpecificationFieldsOfTheWrongType (R2.2): the canvas CRD types specification.url and
// .version as strings and its schema names the bad one; our CRD leaves specification
// schemaless (R2.1), so the validating webhook names it, in the v1 object and in the first
// entry of an older list alike. Either refusal names the field as written, not as missing.
func TestSpecificationFieldsOfTheWrongType(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		env := startWithWebhooks(t, set)
		cases := map[string]struct {
			value any
			want  string
		}{
			"url-number":     {map[string]any{"url": int64(5)}, "spec.specification.url: Invalid value"},
			"version-number": {map[string]any{"url": "https://e.com/a.yaml", "version": int64(4)}, "spec.specification.version: Invalid value"},
		}
		if set == harness.Generated {
			// The canvas CRD refuses a list of objects while decoding, before any webhook (R2.1).
			cases["list-url-number"] = struct {
				value any
				want  string
			}{[]any{map[string]any{"url": int64(5)}}, "spec.specification.url: Invalid value: 5: must be a string"}
		}
		for name, c := range cases {
			err := env.Client.Create(context.Background(), object(name, merged(map[string]any{"specification": c.value, "path": "/" + name}), nil))
			require.Error(t, err, "%s: refused, as the canvas CRD refuses it", name)
			assert.True(t, apierrors.IsInvalid(err), "%s: a 422 Invalid, not %v", name, err)
			assert.Contains(t, err.Error(), c.want, name)
			assert.NotContains(t, err.Error(), "Required value", "%s: the field was written", name)
		}
	})
}

// TestDeveloperUIWithQueryOrFragment (R2.1): a developer UI is often a page opened with a
// query or a fragment (springdoc, Springfox). Its path is normalised as spec.path is; the
// query and fragment are kept as written, and the status URL is the host and all of it.
func TestDeveloperUIWithQueryOrFragment(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		env := startWithWebhooks(t, set)
		env.Gateway(t, "20.0.0.1", "")
		env.Implementation(t, "components", "catalog", 8080, true)
		ctx := context.Background()
		for name, c := range map[string]struct{ written, stored string }{
			"springfox": {"/swagger-ui.html#/", "/swagger-ui.html#/"},
			"springdoc": {"swagger-ui//./index.html?configUrl=/v3/api-docs/swagger-config", "/swagger-ui/index.html?configUrl=/v3/api-docs/swagger-config"},
		} {
			obj := object(name, merged(map[string]any{"developerUI": c.written, "path": "/" + name}), nil)
			require.NoError(t, env.Client.Create(ctx, obj), name)
			assert.Equal(t, c.stored, obj.Object["spec"].(map[string]any)["developerUI"], name)
			harness.Eventually(t, name+" developerUI in status", func() error {
				got := object(name, nil, nil)
				if err := env.Client.Get(ctx, client.ObjectKeyFromObject(got), got); err != nil {
					return err
				}
				if ui, _, _ := unstructured.NestedString(got.Object, "status", "apiStatus", "developerUI"); ui != "https://20.0.0.1"+c.stored {
					return fmt.Errorf("developerUI %q", ui)
				}
				return nil
			})
		}
	})
}

// TestDroppedEntriesTooLongToWarn (R2.1: the entries after the first "kept as a warning,
// never silently lost"): the API server cuts a response's warnings to 256 characters each
// once they pass 4096 in all, so a list whose dropped entries that warning cannot name in
// full is refused, and nothing is stored. A list of strings reaches the webhook on both CRD
// sets; a list of objects only on ours.
func TestDroppedEntriesTooLongToWarn(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		env := startWithWebhooks(t, set)
		c, warnings := env.WarningClient(t)
		lists := map[string][]any{}
		for i := range 12 {
			url := fmt.Sprintf("https://specs.example.com/tmf-api/%03d/%s.yaml", i, strings.Repeat("x", 300))
			lists["long-urls"] = append(lists["long-urls"], url)
			if set == harness.Generated {
				lists["long-objects"] = append(lists["long-objects"], map[string]any{"url": url, "version": fmt.Sprintf("v%d", i)})
			}
		}
		for name, list := range lists {
			obj := object(name, merged(map[string]any{"specification": list, "path": "/" + name}), nil)
			err := c.Create(context.Background(), obj)
			require.Error(t, err, name)
			assert.True(t, apierrors.IsInvalid(err), "%s: a 422 Invalid, not %v", name, err)
			assert.Contains(t, err.Error(), `is invalid: spec.specification: Forbidden: a list (an older shape) becomes the v1 object {url, version} of its first entry`, name)
			assert.Empty(t, warnings.Take(), name)
			assert.True(t, apierrors.IsNotFound(env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), object(name, nil, nil))), "%s: nothing stored", name)
		}
	})
}
