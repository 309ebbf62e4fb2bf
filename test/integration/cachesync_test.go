package integration

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/oda-canvas/api-operator-istio/internal/app"
	"github.com/oda-canvas/api-operator-istio/internal/cachesync"
	"github.com/oda-canvas/api-operator-istio/internal/index"
	"github.com/oda-canvas/api-operator-istio/test/harness"
)

const syncedConfigMaps = 300

// TestCacheSync: the wrapped cache's waits, on a plane with syncedConfigMaps ConfigMaps in
// a namespace of their own.
func TestCacheSync(t *testing.T) {
	env := harness.Start(t, harness.Generated)
	ns := env.Namespace(t, "synced")
	ctx := context.Background()
	for i := range syncedConfigMaps {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("cm-%d", i)},
			Data: map[string]string{"group": fmt.Sprintf("g%d", i%3)}}
		require.NoError(t, env.Client.Create(ctx, cm))
	}
	t.Run("early informers", func(t *testing.T) { testEarlyInformers(t, newSyncCache(t, env.Config, ns), ns) })
	t.Run("handler sees the initial list", func(t *testing.T) { testInitialList(t, newSyncCache(t, env.Config, ns)) })
	forbidden := rest.CopyConfig(env.Config)
	forbidden.Impersonate = rest.ImpersonationConfig{UserName: "nobody"}
	t.Run("gives up with its context", func(t *testing.T) { testGivesUp(t, newSyncCache(t, forbidden, ns)) })
}

// newSyncCache is a wrapped cache of ns, not started.
func newSyncCache(t *testing.T, cfg *rest.Config, ns string) *cachesync.Cache {
	c, err := cachesync.New(cfg, cache.Options{Scheme: app.Scheme(), DefaultNamespaces: map[string]cache.Config{ns: {}}})
	require.NoError(t, err)
	return c.(*cachesync.Cache)
}

func startCache(t *testing.T, c cache.Cache) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
}

// testEarlyInformers: an informer asked for before the start, with an index, does not
// block then; once WaitForCacheSync says the cache synced, it holds every object, and its
// index finds them.
func testEarlyInformers(t *testing.T, c *cachesync.Cache, ns string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := index.Add(ctx, c, &corev1.ConfigMap{}, "group", index.Namespaced, func(o client.Object) []string {
		return []string{o.(*corev1.ConfigMap).Data["group"]}
	})
	require.NoError(t, err, "asking for an informer before the start does not wait for it")
	inf, err := c.GetInformer(ctx, &corev1.ConfigMap{})
	require.NoError(t, err, "nor when it is told to block: the cache has not started")

	startCache(t, c)
	require.True(t, c.WaitForCacheSync(ctx))
	assert.True(t, inf.HasSynced())
	var all, group corev1.ConfigMapList
	require.NoError(t, c.List(ctx, &all, client.InNamespace(ns)))
	assert.Len(t, all.Items, syncedConfigMaps)
	require.NoError(t, c.List(ctx, &group, client.InNamespace(ns), client.MatchingFields{"group": "g0"}))
	assert.Len(t, group.Items, syncedConfigMaps/3)
}

// testInitialList: once the cache has started, GetInformer returns the informer synced,
// and a handler added to it has seen every object of the initial list when the add
// returns, as the watches of controller-runtime then wait for.
func testInitialList(t *testing.T, c *cachesync.Cache) {
	startCache(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	inf, err := c.GetInformer(ctx, &corev1.ConfigMap{})
	require.NoError(t, err)
	require.True(t, inf.HasSynced(), "GetInformer returns once the informer has synced")

	var initial atomic.Int32
	reg, err := inf.AddEventHandlerWithOptions(toolscache.ResourceEventHandlerDetailedFuncs{
		AddFunc: func(_ any, isInInitialList bool) {
			if isInInitialList {
				initial.Add(1)
			}
		},
	}, toolscache.HandlerOptions{})
	require.NoError(t, err)
	assert.Equal(t, int32(syncedConfigMaps), initial.Load(), "the handler has seen the initial list")
	assert.True(t, reg.HasSynced())
}

// testGivesUp: an informer that cannot sync (its lists are forbidden) makes GetInformer
// return the cache's own timeout error when the asker's context ends, not block; once it
// is removed, the cache no longer waits for it.
func testGivesUp(t *testing.T, c *cachesync.Cache) {
	startCache(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err := c.GetInformer(ctx, &corev1.ConfigMap{})
	require.Error(t, err)
	assert.True(t, apierrors.IsTimeout(err), "the cache's own timeout error: %v", err)

	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, c.RemoveInformer(ctx, &corev1.ConfigMap{}))
	assert.True(t, c.WaitForCacheSync(ctx), "a removed informer is not waited for")
}
