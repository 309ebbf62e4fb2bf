package index_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/oda-canvas/api-operator-istio/internal/app"
	"github.com/oda-canvas/api-operator-istio/internal/index"
	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// appOf is what each Service is indexed by: its selector's "app" label.
func appOf(o client.Object) []string {
	if v := o.(*corev1.Service).Spec.Selector["app"]; v != "" {
		return []string{v}
	}
	return nil
}

// TestLookupsThroughTheCacheClient registers a namespaced and a cluster index and looks
// them up through the cache's own List, as the controllers do, on a cache of every
// namespace and on one of two named namespaces (controller-runtime's multi-namespace cache).
func TestLookupsThroughTheCacheClient(t *testing.T) {
	env := harness.Start(t, harness.Generated)
	for _, ns := range []string{"one", "two"} {
		env.Namespace(t, ns)
		for _, name := range []string{"a", "b"} {
			svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
				Spec: corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone, Selector: map[string]string{"app": "shared-" + name},
					Ports: []corev1.ServicePort{{Port: 80}}}}
			require.NoError(t, env.Client.Create(context.Background(), svc))
		}
	}
	caches := map[string]cache.Options{
		"all namespaces": {Scheme: app.Scheme()},
		"two namespaces": {Scheme: app.Scheme(), DefaultNamespaces: map[string]cache.Config{"one": {}, "two": {}}},
	}
	for name, opts := range caches {
		t.Run(name, func(t *testing.T) {
			c := startCache(t, env.Config, opts)
			names := func(opts ...client.ListOption) []string {
				var list corev1.ServiceList
				require.NoError(t, c.List(context.Background(), &list, opts...))
				var out []string
				for _, s := range list.Items {
					out = append(out, s.Namespace+"/"+s.Name)
				}
				return out
			}
			assert.ElementsMatch(t, []string{"one/a"}, names(client.InNamespace("one"), client.MatchingFields{"by-app": "shared-a"}))
			assert.ElementsMatch(t, []string{"two/b"}, names(client.InNamespace("two"), client.MatchingFields{"by-app": "shared-b"}))
			assert.Empty(t, names(client.MatchingFields{"by-app": "shared-a"}), "a namespaced index has no cluster-wide keys")

			assert.ElementsMatch(t, []string{"one/a", "two/a"}, names(client.MatchingFields{"cluster-by-app": "shared-a"}))
			assert.Empty(t, names(client.InNamespace("one"), client.MatchingFields{"cluster-by-app": "shared-a"}),
				"a cluster index has no namespaced keys")
		})
	}
}

func startCache(t *testing.T, cfg *rest.Config, opts cache.Options) cache.Cache {
	t.Helper()
	c, err := cache.New(cfg, opts)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	require.NoError(t, index.Add(ctx, c, &corev1.Service{}, "by-app", index.Namespaced, appOf))
	require.NoError(t, index.Add(ctx, c, &corev1.Service{}, "cluster-by-app", index.Cluster, appOf))
	go func() { _ = c.Start(ctx) }()
	syncCtx, done := context.WithTimeout(ctx, 30*time.Second)
	defer done()
	require.True(t, c.WaitForCacheSync(syncCtx))
	return c
}
