package metrics_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/controllers/metrics"
	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// laggingCache answers every indexed pod lookup as a cache would that has not yet seen the
// pod writes just made: with nothing. All else goes to the API server.
type laggingCache struct{ client.Client }

func (c laggingCache) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	if _, pods := list.(*corev1.PodList); pods && indexed(opts) {
		return nil
	}
	return c.Client.List(ctx, list, opts...)
}

func indexed(opts []client.ListOption) bool {
	o := &client.ListOptions{}
	o.ApplyOptions(opts)
	return o.FieldSelector != nil
}

// TestFinalizeCleansPodsTheCacheHasNotSeen: an API is deleted right after it annotated a
// pod, before the pod cache has seen that write. Its finalizer goes only once the pod shows
// its own values again, not when the cache says no pod carries the API.
func TestFinalizeCleansPodsTheCacheHasNotSeen(t *testing.T) {
	ctx := t.Context()
	env := harness.Start(t, harness.Generated)
	ns := env.Namespace(t, "shop")
	pod := env.Pod(t, ns, "p1", map[string]string{"app": "shop"})
	env.Service(t, ns, "shop-metrics", map[string]string{"app": "shop"})
	api := harness.API(ns, "metrics", "/metrics", "shop-metrics", 9090)
	api.Spec.APIType = odav1.APITypePrometheus
	require.NoError(t, env.Client.Create(ctx, api))

	s := &metrics.Scraper{Client: laggingCache{env.Client}, APIReader: env.Client, Pattern: metrics.PrometheusAnnotation}
	c, err := s.Ensure(ctx, api, &api.Spec)
	require.NoError(t, err)
	require.Equal(t, "PodsAnnotated", c.Reason, c.Message)
	require.NoError(t, env.Client.Get(ctx, client.ObjectKeyFromObject(pod), pod))
	require.Equal(t, "true", pod.Annotations[metrics.PrometheusScrape], "the pod is annotated")

	require.NoError(t, s.Finalize(ctx, api, false))
	require.NoError(t, env.Client.Get(ctx, client.ObjectKeyFromObject(pod), pod))
	assert.Empty(t, pod.Annotations, "the API's annotations and record are gone from the pod")
	require.NoError(t, env.Client.Get(ctx, client.ObjectKeyFromObject(api), api))
	assert.NotContains(t, api.Finalizers, metrics.Finalizer)
}
