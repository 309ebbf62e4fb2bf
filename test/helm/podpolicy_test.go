package helm

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/internal/app"
	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// TestPodPatchPolicy: under the chart's ValidatingAdmissionPolicy the chart's ServiceAccount
// is refused any change of a pod but its annotations (its image, its labels), while the
// operator, running as that ServiceAccount with the chart's RBAC, still annotates the pods
// of a metrics API under PrometheusAnnotation and takes its annotations off again.
func TestPodPatchPolicy(t *testing.T) {
	ctx := context.Background()
	env := harness.Start(t, harness.Generated)
	for _, n := range []string{releaseNS, ns} {
		env.Namespace(t, n)
	}
	env.Gateway(t, "20.0.0.1", "")
	applyChartRBAC(t, env, "openmetricsImplementation=PrometheusAnnotation")
	for _, obj := range render(t) {
		if kind := obj.GetKind(); kind == "ValidatingAdmissionPolicy" || kind == "ValidatingAdmissionPolicyBinding" {
			require.NoError(t, env.Client.Create(ctx, obj), "%s %s", kind, obj.GetName())
		}
	}
	env.Service(t, ns, "shop-metrics", map[string]string{"app": "shop"})
	pod := env.Pod(t, ns, "shop-1", map[string]string{"app": "shop"})
	cfg := rest.CopyConfig(env.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: chartSA}
	operator, err := client.New(cfg, client.Options{Scheme: app.Scheme()})
	require.NoError(t, err)

	// Strategic merge patches, which merge containers by name: an image change is then a
	// valid pod update, refused by the policy alone.
	patchAs := func(patch string) error {
		return operator.Patch(ctx, pod.DeepCopy(), client.RawPatch(types.StrategicMergePatchType, []byte(patch)), client.DryRunAll)
	}
	const refused = "may change a pod's annotations only"
	harness.Eventually(t, "the policy in force", func() error {
		if err := patchAs(`{"spec":{"containers":[{"name":"app","image":"attacker/image:1"}]}}`); err == nil || !strings.Contains(err.Error(), refused) {
			return fmt.Errorf("an image change: %v", err)
		}
		return nil
	})
	assert.ErrorContains(t, patchAs(`{"metadata":{"labels":{"app":"payments"}}}`), refused)
	assert.NoError(t, patchAs(`{"metadata":{"annotations":{"prometheus.io/scrape":"true"}}}`))

	o := policyOptions()
	o.OpenMetricsImplementation = app.PrometheusAnnotation
	harness.StartOperatorAs(t, env, cfg, o)
	api := harness.API(ns, "shop-metrics", "/metrics", "shop-metrics", 9090)
	api.Spec.APIType = odav1.APITypePrometheus
	require.NoError(t, env.Client.Create(ctx, api))
	waitPodAnnotation(t, env, "shop-1", "prometheus.io/scrape", "true")
	require.NoError(t, env.Client.Delete(ctx, api))
	waitPodAnnotation(t, env, "shop-1", "prometheus.io/scrape", "")
}

// waitPodAnnotation waits until the pod's annotation key is value (empty: absent).
func waitPodAnnotation(t *testing.T, env *harness.Env, name, key, value string) {
	t.Helper()
	harness.Eventually(t, fmt.Sprintf("pod %s's %s annotation %q", name, key, value), func() error {
		pod := &corev1.Pod{}
		if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, pod); err != nil {
			return err
		}
		if got := pod.Annotations[key]; got != value {
			return fmt.Errorf("%q", got)
		}
		return nil
	})
}
