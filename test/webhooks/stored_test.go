package webhooks

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// storedSpec is an object the webhooks would never have admitted as it is: a list
// specification of two entries, no segment, and a wildcard origin with credentials.
func storedSpec() map[string]any {
	return merged(map[string]any{
		"specification": []any{
			map[string]any{"url": "https://e.com/a.yaml", "version": "v4"},
			map[string]any{"url": "https://e.com/b.yaml", "version": "v5"},
		},
		"CORS": map[string]any{"enabled": true, "allowOrigins": "*", "allowCredentials": true},
	})
}

// TestObjectStoredBeforeTheWebhooks (R2.4): an object stored before the webhooks existed
// gets its Accepted=False status, keeps its spec byte for byte through the operator's status
// writes and a user's label, and only a user's change to the spec is defaulted and
// validated.
func TestObjectStoredBeforeTheWebhooks(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		ctx := context.Background()
		env := harness.StartWithWebhooks(t, set)
		env.Namespace(t, "components")
		old := object("old", storedSpec(), nil)
		if set == harness.ODA {
			// The canvas CRD's v1 refuses a list of objects; v1beta4 stored it.
			old.SetAPIVersion("oda.tmforum.org/v1beta4")
		}
		env.WithoutWebhooks(t, func() error { return env.Client.Create(ctx, old.DeepCopy()) })
		stored := specJSON(t, env, "old")

		harness.StartOperator(t, env, harness.DefaultOptions())
		require.NoError(t, harness.WaitForWebhook(ctx, env.Client, "components", harness.Wait))
		harness.Eventually(t, "Accepted=False InvalidSpec", func() error {
			return condition(env, "old", "Accepted", "False", "InvalidSpec")
		})
		assert.JSONEq(t, stored, specJSON(t, env, "old"), "the status writes left the spec as stored")

		c, warnings := env.WarningClient(t)
		label := []byte(`{"metadata":{"labels":{"team":"shop"}}}`)
		require.NoError(t, c.Patch(ctx, object("old", nil, nil), client.RawPatch(types.MergePatchType, label)), "a label is admitted")
		assert.Contains(t, warnings.Take(), "spec.CORS.allowCredentials: Invalid value: true: cannot be true while allowOrigins is *: browsers refuse credentials with a wildcard origin")
		assert.JSONEq(t, stored, specJSON(t, env, "old"), "the label left the spec as stored")
		relabel := []byte(`{"metadata":{"labels":{"oda.tmforum.org/componentName":"store"}}}`)
		require.NoError(t, c.Patch(ctx, object("old", nil, nil), client.RawPatch(types.MergePatchType, relabel)), "a new component label is admitted")
		assert.Contains(t, warnings.Take(), "spec.CORS.allowCredentials: Invalid value: true: cannot be true while allowOrigins is *: browsers refuse credentials with a wildcard origin")
		unlabel := []byte(`{"metadata":{"labels":{"oda.tmforum.org/componentName":null}}}`)
		err := c.Patch(ctx, object("old", nil, nil), client.RawPatch(types.MergePatchType, unlabel))
		require.Error(t, err, "the component label is not removed")
		assert.Contains(t, err.Error(), "metadata.labels[oda.tmforum.org/componentName]: Required value")
		assert.NotContains(t, err.Error(), "spec.", "the stored spec's problems are not the refusal's")

		// R2.4: the stored spec's defaulted form, written back, changes nothing.
		defaulted := []byte(`{"spec":{"segment":"coreFunction"}}`)
		require.NoError(t, c.Patch(ctx, object("old", nil, nil), client.RawPatch(types.MergePatchType, defaulted)),
			"an update that changes nothing after defaulting is admitted")
		assert.Contains(t, warnings.Take(), "spec.CORS.allowCredentials: Invalid value: true: cannot be true while allowOrigins is *: browsers refuse credentials with a wildcard origin")

		editPath := []byte(`{"spec":{"path":"/catalog//v5/"}}`)
		err = c.Patch(ctx, object("old", nil, nil), client.RawPatch(types.MergePatchType, editPath))
		require.Error(t, err, "a spec edit is validated")
		assert.Contains(t, err.Error(), "spec.CORS.allowCredentials: Invalid value: true")

		fix := []byte(`{"spec":{"path":"/catalog//v5/","CORS":{"allowOrigins":"https://shop.example.com"},"specification":{"url":"https://e.com/a.yaml","version":null}}}`)
		require.NoError(t, c.Patch(ctx, object("old", nil, nil), client.RawPatch(types.MergePatchType, fix)))
		got := unstructuredAPI(t, env, "old")
		spec := got.Object["spec"].(map[string]any)
		assert.Equal(t, "/catalog/v5", spec["path"], "a spec edit is defaulted")
		assert.Equal(t, "coreFunction", spec["segment"])
		assert.Equal(t, map[string]any{"url": "https://e.com/a.yaml"}, spec["specification"])
		harness.Eventually(t, "Accepted=True", func() error { return condition(env, "old", "Accepted", "True", "") })
	})
}

func unstructuredAPI(t *testing.T, env *harness.Env, name string) *unstructured.Unstructured {
	t.Helper()
	got := object(name, nil, nil)
	require.NoError(t, env.Client.Get(context.Background(), client.ObjectKeyFromObject(got), got))
	return got
}

func specJSON(t *testing.T, env *harness.Env, name string) string {
	t.Helper()
	raw, err := json.Marshal(unstructuredAPI(t, env, name).Object["spec"])
	require.NoError(t, err)
	return string(raw)
}

// condition is nil when the ExposedAPI has the condition with that status and, unless
// empty, that reason.
func condition(env *harness.Env, name, typ, status, reason string) error {
	got := object(name, nil, nil)
	if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(got), got); err != nil {
		return err
	}
	conds, _, _ := unstructured.NestedSlice(got.Object, "status", "conditions")
	for _, c := range conds {
		m := c.(map[string]any)
		if m["type"] == typ && m["status"] == status && (reason == "" || m["reason"] == reason) {
			return nil
		}
	}
	return fmt.Errorf("no %s=%s %s in %v", typ, status, reason, conds)
}

// TestStoredValueTheTypeCannotHold (R0.5): on the canvas CRD, which keeps fields its schema
// does not name (hostname) and bounds no integer (port), a field can hold JSON that the Go
// type cannot. Such an object does not stop the operator: the other APIs get their routes,
// that one is Accepted=False with a message naming each field, its spec stays as stored, a
// label is still admitted, and a new object with such values is refused with the same
// messages, not a decoding error. Our CRD's schema refuses such values before any webhook.
func TestStoredValueTheTypeCannotHold(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		ctx := context.Background()
		env := harness.StartWithWebhooks(t, set)
		env.Namespace(t, "components")
		over := map[string]any{"hostname": int64(7), "port": int64(3000000000)}
		want := []string{"spec.hostname: Invalid value: 7: must be a string",
			"spec.port: Invalid value: 3000000000: must be a port number from 1 to 65535"}
		if set == harness.Generated {
			var err error
			env.WithoutWebhooks(t, func() error {
				err = env.Client.Create(ctx, object("odd", merged(over), nil))
				return nil
			})
			require.Error(t, err, "our CRD's schema")
			assert.Contains(t, err.Error(), "spec.hostname: Invalid value: \"integer\": spec.hostname in body must be of type string")
			return
		}
		odd := object("odd", merged(over), nil)
		fine := object("fine", merged(map[string]any{"path": "/fine"}), nil)
		env.WithoutWebhooks(t, func() error {
			for _, o := range []*unstructured.Unstructured{odd, fine} {
				if err := env.Client.Create(ctx, o.DeepCopy()); err != nil {
					return err
				}
			}
			return nil
		})
		stored := specJSON(t, env, "odd")

		harness.StartOperator(t, env, harness.DefaultOptions())
		require.NoError(t, harness.WaitForWebhook(ctx, env.Client, "components", harness.Wait))
		harness.Eventually(t, "the other API accepted", func() error { return condition(env, "fine", "Accepted", "True", "") })
		harness.Eventually(t, "Accepted=False InvalidSpec", func() error { return condition(env, "odd", "Accepted", "False", "InvalidSpec") })
		msg := conditionMessage(t, env, "odd", "Accepted")
		for _, w := range want {
			assert.Contains(t, msg, w)
		}
		assert.JSONEq(t, stored, specJSON(t, env, "odd"), "the status writes left the spec as stored")

		c, warnings := env.WarningClient(t)
		label := []byte(`{"metadata":{"labels":{"team":"shop"}}}`)
		require.NoError(t, c.Patch(ctx, object("odd", nil, nil), client.RawPatch(types.MergePatchType, label)), "a label is admitted")
		assert.Subset(t, warnings.Take(), want)
		assert.JSONEq(t, stored, specJSON(t, env, "odd"), "the label left the spec as stored")

		err := env.Client.Create(ctx, object("odd-again", merged(over), nil))
		require.Error(t, err)
		assert.True(t, apierrors.IsInvalid(err), "422 Invalid, not a decoding error: %v", err)
		for _, w := range want {
			assert.Contains(t, err.Error(), w)
		}
	})
}

func conditionMessage(t *testing.T, env *harness.Env, name, typ string) string {
	t.Helper()
	conds, _, _ := unstructured.NestedSlice(unstructuredAPI(t, env, name).Object, "status", "conditions")
	for _, c := range conds {
		if m := c.(map[string]any); m["type"] == typ {
			msg, _ := m["message"].(string)
			return msg
		}
	}
	return ""
}

// olderStored is a v1beta4 manifest with a problem the webhooks would refuse
// (implementation is not a Service name); %s ends its labels.
const olderStored = `apiVersion: oda.tmforum.org/v1beta4
kind: ExposedAPI
metadata:
  name: %s
  namespace: components
  labels: {%s}
spec:
  name: catalog
  apiType: openapi
  implementation: Catalog_Svc
  path: /%[1]s
  port: 8080
  specification:
  - {url: "https://e.com/a.yaml", version: v4}
`

// TestOlderReapplyOfAStoredSpec (R2.4, R2.5): on the canvas CRD, a v1beta4 manifest applied
// with kubectl before the operator is re-applied as it was, or with a label added (a GitOps
// sync). kubectl sends the specification list whole, url and version included, which the
// CRD prunes again when it stores it: the stored spec does not change, so its problems are
// warnings, even the component label it never had.
func TestOlderReapplyOfAStoredSpec(t *testing.T) {
	env := harness.StartWithWebhooks(t, harness.ODA)
	env.Namespace(t, "components")
	apply := kubectlApply(t, env)
	labelled := fmt.Sprintf(olderStored, "legacy", "oda.tmforum.org/componentName: shop")
	unlabelled := fmt.Sprintf(olderStored, "nolabel", "team: x")
	env.WithoutWebhooks(t, func() error {
		out, err := apply(labelled + "---\n" + unlabelled)
		if err != nil {
			return fmt.Errorf("%w: %s", err, out)
		}
		return nil
	})
	stored := specJSON(t, env, "legacy")
	harness.StartOperator(t, env, harness.DefaultOptions())
	require.NoError(t, harness.WaitForWebhook(context.Background(), env.Client, "components", harness.Wait))

	out, err := apply(labelled)
	require.NoError(t, err, "unchanged: %s", out)
	assert.Contains(t, out, `spec.implementation: Invalid value: "Catalog_Svc"`, "the stored spec's problems are warnings")
	out, err = apply(fmt.Sprintf(olderStored, "legacy", "oda.tmforum.org/componentName: shop, team: x"))
	require.NoError(t, err, "a label added: %s", out)
	assert.JSONEq(t, stored, specJSON(t, env, "legacy"), "the spec left as stored")
	out, err = apply(unlabelled)
	require.NoError(t, err, "stored without the component label, re-applied as it was: %s", out)
	assert.Contains(t, out, "oda.tmforum.org/componentName")

	out, err = apply(strings.Replace(labelled, "path: /legacy", "path: /moved", 1))
	require.Error(t, err, "a change to the spec is validated")
	assert.Contains(t, out, `spec.implementation: Invalid value: "Catalog_Svc"`)
}
