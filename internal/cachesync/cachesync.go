// Package cachesync makes a controller-runtime cache's waits for its informers end when
// they sync, not at client-go's next poll.
//
// controller-runtime 0.25 waits with client-go's WaitForCacheSync, which checks every
// 100 ms: a start waits for the informers made before it (the indexed ones), then each
// watch for its informer, then for its handler to have seen the initial list, each wait
// rounded up to the next poll. That was 0.4 s of every start before the first reconcile,
// while the informers themselves had synced in a fraction of it. client-go v0.37's
// informers and handler registrations say when they are synced on a channel (DoneChecker);
// this wrapper waits on those, and leaves the cache's own checks in place behind them.
package cachesync

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Cache is a cache.Cache whose informer waits end when the informers sync.
type Cache struct {
	cache.Cache

	started atomic.Bool
	mu      sync.Mutex
	asked   map[string]cache.Informer // every informer handed out, by what it was asked for
}

// New is cache.New, wrapped; it fits ctrl.Options.NewCache.
func New(cfg *rest.Config, opts cache.Options) (cache.Cache, error) {
	c, err := cache.New(cfg, opts)
	if err != nil {
		return nil, err
	}
	return Wrap(c), nil
}

// Wrap wraps c.
func Wrap(c cache.Cache) *Cache { return &Cache{Cache: c, asked: map[string]cache.Informer{}} }

// Start starts the cache.
func (c *Cache) Start(ctx context.Context) error {
	c.started.Store(true)
	return c.Cache.Start(ctx)
}

// WaitForCacheSync waits for the informers it handed out, then has the cache check all of
// its informers (a read may have made one): by then, those have synced. The watches of
// the controllers ask this each, while the others' informers may still be listing.
func (c *Cache) WaitForCacheSync(ctx context.Context) bool {
	c.mu.Lock()
	checkers := make([]toolscache.DoneChecker, 0, len(c.asked))
	for _, inf := range c.asked {
		checkers = append(checkers, inf.HasSyncedChecker())
	}
	c.mu.Unlock()
	return toolscache.WaitFor(ctx, "", checkers...) && c.Cache.WaitForCacheSync(ctx)
}

// GetInformer is the cache's informer for obj; unless told not to, it waits for the
// informer to sync when the cache has started, as the cache's own does.
func (c *Cache) GetInformer(ctx context.Context, obj client.Object, opts ...cache.InformerGetOption) (cache.Informer, error) {
	inf, err := c.Cache.GetInformer(ctx, obj, cache.BlockUntilSynced(false))
	return c.informer(ctx, inf, err, objectKey(obj), opts)
}

// GetInformerForKind is GetInformer by kind.
func (c *Cache) GetInformerForKind(ctx context.Context, gvk schema.GroupVersionKind, opts ...cache.InformerGetOption) (cache.Informer, error) {
	inf, err := c.Cache.GetInformerForKind(ctx, gvk, cache.BlockUntilSynced(false))
	return c.informer(ctx, inf, err, gvk.String(), opts)
}

// RemoveInformer removes obj's informer, and stops waiting for it.
func (c *Cache) RemoveInformer(ctx context.Context, obj client.Object) error {
	c.mu.Lock()
	if gone, ok := c.asked[objectKey(obj)]; ok {
		for k, inf := range c.asked {
			if inf == gone { // also asked for by kind
				delete(c.asked, k)
			}
		}
	}
	c.mu.Unlock()
	return c.Cache.RemoveInformer(ctx, obj)
}

// objectKey names what obj asks an informer of: its type, and for metadata-only and
// unstructured objects the kind they carry.
func objectKey(obj client.Object) string {
	if gvk := obj.GetObjectKind().GroupVersionKind(); !gvk.Empty() {
		return fmt.Sprintf("%T %s", obj, gvk)
	}
	return fmt.Sprintf("%T", obj)
}

// informer records inf under key, the name of what it was asked for, and waits for it
// as opts say.
func (c *Cache) informer(ctx context.Context, inf cache.Informer, err error, key string, opts []cache.InformerGetOption) (cache.Informer, error) {
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.asked[key] = inf
	c.mu.Unlock()
	// Before the start the cache's own does not wait either.
	if c.started.Load() && blocks(opts) && !toolscache.WaitFor(ctx, "", inf.HasSyncedChecker()) {
		// The cache's own error for the same wait.
		return nil, apierrors.NewTimeoutError(fmt.Sprintf("failed waiting for %s Informer to sync", key), 0)
	}
	return &informer{Informer: inf, ctx: ctx}, nil
}

func blocks(opts []cache.InformerGetOption) bool {
	var o cache.InformerGetOptions
	for _, opt := range opts {
		opt(&o)
	}
	return o.BlockUntilSynced == nil || *o.BlockUntilSynced
}

// informer is a cache informer whose new handlers, once it has synced, are added when they
// have seen its initial list: a watch that waits for its handler then finds it done at
// once, instead of at the next poll. The replay only queues requests, so it is short.
type informer struct {
	cache.Informer
	ctx context.Context // the asker's: ends the wait when the watch stops
}

// AddEventHandlerWithOptions adds handler, as the watches of controller-runtime do.
func (i *informer) AddEventHandlerWithOptions(handler toolscache.ResourceEventHandler, opts toolscache.HandlerOptions) (toolscache.ResourceEventHandlerRegistration, error) {
	reg, err := i.Informer.AddEventHandlerWithOptions(handler, opts)
	if err == nil && toolscache.IsDone(i.HasSyncedChecker()) {
		select {
		case <-reg.HasSyncedChecker().Done():
		case <-i.ctx.Done():
		}
	}
	return reg, err
}
