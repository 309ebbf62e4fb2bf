package metrics_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/controllers/metrics"
	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// TestUnreadablePodsNamedInOrder: the pods whose record is not ours are named in name order,
// not in the cache's list order (a map's), which changed the Scraping message, and so wrote
// the status, at every reconcile of an unchanged API.
func TestUnreadablePodsNamedInOrder(t *testing.T) {
	ctx := t.Context()
	env := harness.Start(t, harness.Generated)
	ns := env.Namespace(t, "shop")
	for _, name := range []string{"p3", "p0", "p5", "p1", "p4", "p2"} {
		pod := env.Pod(t, ns, name, map[string]string{"app": "shop"})
		pod.Annotations = map[string]string{metrics.StateAnnotation: "edited by hand"}
		require.NoError(t, env.Client.Update(ctx, pod))
	}
	env.Service(t, ns, "shop-metrics", map[string]string{"app": "shop"})
	api := harness.API(ns, "metrics", "/metrics", "shop-metrics", 9090)
	api.Spec.APIType = odav1.APITypePrometheus
	api.Finalizers = []string{metrics.Finalizer}
	require.NoError(t, env.Client.Create(ctx, api))

	s, cl := scraperOnCache(t, env)
	waitForCache(t, env, cl, ns)
	harness.Eventually(t, "the pods cached", func() error {
		var l corev1.PodList
		if err := cl.List(ctx, &l, client.InNamespace(ns)); err != nil || len(l.Items) != 6 {
			return fmt.Errorf("%d pods, %v", len(l.Items), err)
		}
		return nil
	})
	for range 20 {
		cond, err := s.Ensure(ctx, api, &api.Spec)
		require.NoError(t, err)
		require.Equal(t, metrics.ReasonPodRecordUnreadable, cond.Reason)
		assert.Contains(t, cond.Message, ": p0, p1, p2, p3, p4, p5, left as they are")
	}
}
