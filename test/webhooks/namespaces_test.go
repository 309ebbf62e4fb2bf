package webhooks

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// TestUnservedNamespacesAreNotJudged: the webhook configurations reach every namespace
// (a namespaceSelector cannot hold a name pattern), but the webhooks change and refuse only
// ExposedAPIs of the namespaces the operator serves.
func TestUnservedNamespacesAreNotJudged(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		ctx := context.Background()
		env := harness.StartWithWebhooks(t, set)
		served, other := env.Namespace(t, "odacompns-a"), env.Namespace(t, "other")
		o := harness.DefaultOptions()
		o.Namespaces = []string{"components", "odacompns-*"}
		harness.StartOperator(t, env, o)
		require.NoError(t, harness.WaitForWebhook(ctx, env.Client, served, harness.Wait))

		bad := merged(map[string]any{"path": "/x//y/", "port": int64(70000)})
		err := env.Client.Create(ctx, namespaced(object("bad", bad, nil), served))
		require.True(t, apierrors.IsInvalid(err), "refused where served: %v", err)

		theirs := namespaced(object("theirs", bad, nil), other)
		require.NoError(t, env.Client.Create(ctx, theirs), "another operator's namespace")
		assert.Equal(t, "/x//y/", theirs.Object["spec"].(map[string]any)["path"], "stored as written")
	})
}

func namespaced(u *unstructured.Unstructured, ns string) *unstructured.Unstructured {
	u.SetNamespace(ns)
	return u
}
