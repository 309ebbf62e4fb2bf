package webhooks

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// bypassLabel marks objects the validating webhook does not see, standing for objects
// written while it was down or before it existed.
const bypassLabel = "test.oda.tmforum.org/bypass-validation"

func bypassValidation(t *testing.T, env *harness.Env) {
	t.Helper()
	ctx := context.Background()
	v := &admissionregistrationv1.ValidatingWebhookConfiguration{}
	require.NoError(t, env.Client.Get(ctx, client.ObjectKey{Name: harness.ValidatingWebhookName}, v))
	for i := range v.Webhooks {
		v.Webhooks[i].ObjectSelector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
			{Key: bypassLabel, Operator: metav1.LabelSelectorOpDoesNotExist},
		}}
	}
	require.NoError(t, env.Client.Update(ctx, v))
}

func waitAccepted(t *testing.T, env *harness.Env, name, reason string) {
	t.Helper()
	harness.Eventually(t, name+" Accepted "+reason, func() error {
		api := object(name, nil, nil)
		if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(api), api); err != nil {
			return err
		}
		conds, _, _ := unstructured.NestedSlice(api.Object, "status", "conditions")
		for _, c := range conds {
			if m := c.(map[string]any); m["type"] == "Accepted" && m["reason"] == reason {
				return nil
			}
		}
		return fmt.Errorf("conditions %v", conds)
	})
}

// TestConflictCountsWhatRoutes: the webhook counts route claims as the controller does
// (R2.3): an API whose spec became invalid still holds the route its kept VirtualService
// serves, and an invalid spec with no VirtualService holds nothing.
func TestConflictCountsWhatRoutes(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		env := startWithWebhooks(t, set)
		bypassValidation(t, env)
		ctx := context.Background()
		bypass := map[string]any{"oda.tmforum.org/componentName": "shop", bypassLabel: "true"}

		kept := object("kept", merged(map[string]any{"path": "/x"}), bypass)
		require.NoError(t, env.Client.Create(ctx, kept))
		waitAccepted(t, env, "kept", "Valid")
		require.NoError(t, retry.RetryOnConflict(retry.DefaultRetry, func() error {
			if err := env.Client.Get(ctx, client.ObjectKeyFromObject(kept), kept); err != nil {
				return err
			}
			spec := kept.Object["spec"].(map[string]any)
			spec["path"], spec["port"] = "/y", int64(0)
			return env.Client.Update(ctx, kept)
		}))
		waitAccepted(t, env, "kept", "InvalidSpec")
		err := env.Client.Create(ctx, object("newcomer", merged(map[string]any{"path": "/x"}), nil), client.DryRunAll)
		require.Error(t, err, "the kept VirtualService still routes /x")
		assert.Equal(t, `admission webhook "vexposedapi.oda.tmforum.org" denied the request: ExposedAPI.oda.tmforum.org "newcomer" is invalid: `+
			`spec.path: Invalid value: "/x": route */x on gateway component-gateway is already exposed by ExposedAPI components/kept; choose another path or hostname`, err.Error())

		require.NoError(t, env.Client.Create(ctx, object("early", merged(map[string]any{"path": "/z", "port": int64(0)}), bypass)))
		waitAccepted(t, env, "early", "InvalidSpec")
		require.NoError(t, env.Client.Create(ctx, object("late", merged(map[string]any{"path": "/z"}), nil)),
			"an invalid spec with no VirtualService holds no route")
		waitAccepted(t, env, "late", "Valid")
		// Made valid, the older API would claim /z anew and take it from late.
		early := object("early", nil, nil)
		err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
			if err := env.Client.Get(ctx, client.ObjectKeyFromObject(early), early); err != nil {
				return err
			}
			early.Object["spec"].(map[string]any)["port"] = int64(8080)
			early.SetLabels(map[string]string{"oda.tmforum.org/componentName": "shop"})
			return env.Client.Update(ctx, early)
		})
		require.Error(t, err, "the fix of an invalid spec claims its route")
		assert.Contains(t, err.Error(), `spec.path: Invalid value: "/z": route */z on gateway component-gateway is already exposed by ExposedAPI components/late`)
	})
}

// TestWinnerEditableBesideItsLoser: two APIs stored before the webhooks existed claim one
// route, the older one's path not normalised (/x/ beside /x). The controller gives the
// route to the older; an edit of its port is admitted, not refused as a claim on the
// route its loser asks for.
func TestWinnerEditableBesideItsLoser(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		env := startWithWebhooks(t, set)
		ctx := context.Background()
		// Names that order as their ages do, should both be created in the same second.
		first := object("first", merged(map[string]any{"path": "/x/"}), nil)
		env.WithoutWebhooks(t, func() error { return env.Client.Create(ctx, first) })
		env.WithoutWebhooks(t, func() error {
			return env.Client.Create(ctx, object("second", merged(map[string]any{"path": "/x"}), nil))
		})
		waitAccepted(t, env, "first", "Valid")
		waitAccepted(t, env, "second", "RouteConflict")
		require.NoError(t, retry.RetryOnConflict(retry.DefaultRetry, func() error {
			if err := env.Client.Get(ctx, client.ObjectKeyFromObject(first), first); err != nil {
				return err
			}
			first.Object["spec"].(map[string]any)["port"] = int64(9090)
			return env.Client.Update(ctx, first)
		}))
	})
}
