package namespaces

import (
	"context"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	toolscache "k8s.io/client-go/tools/cache"
)

// NewInformer is a cache.Options.NewInformer that keeps only objects of served namespaces:
// a pattern needs a cluster-wide list and watch, but what the selector does not serve is
// dropped as it arrives, so it never reaches the cache, an index or a reconcile. A namespace
// created later that matches is served from its first object on, with no restart, since the
// match depends on the name alone.
func (s Selector) NewInformer(lw toolscache.ListerWatcher, obj runtime.Object, resync time.Duration, indexers toolscache.Indexers) toolscache.SharedIndexInformer {
	return toolscache.NewSharedIndexInformer(s.filter(lw), obj, resync, indexers)
}

func (s Selector) filter(lw toolscache.ListerWatcher) toolscache.ListerWatcher {
	ctxLW := toolscache.ToListerWatcherWithContext(lw)
	return &toolscache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
			list, err := ctxLW.ListWithContext(ctx, opts)
			if err != nil {
				return nil, err
			}
			return list, s.filterList(list)
		},
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			w, err := ctxLW.WatchWithContext(ctx, opts)
			if err != nil {
				return nil, err
			}
			return watch.Filter(w, s.keepEvent), nil
		},
	}
}

func (s Selector) filterList(list runtime.Object) error {
	items, err := meta.ExtractListWithAlloc(list)
	if err != nil {
		return err
	}
	kept := items[:0]
	for _, item := range items {
		if s.served(item) {
			kept = append(kept, item)
		}
	}
	return meta.SetList(list, kept)
}

// keepEvent lets errors and bookmarks through (they name no namespace).
func (s Selector) keepEvent(e watch.Event) (watch.Event, bool) {
	if e.Type == watch.Error {
		return e, true
	}
	return e, s.served(e.Object)
}

func (s Selector) served(obj runtime.Object) bool {
	m, err := meta.Accessor(obj)
	if err != nil {
		return true
	}
	return s.Matches(m.GetNamespace())
}
