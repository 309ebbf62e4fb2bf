package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/internal/app"
)

// watcher sees the namespace through a cache, so that watching for convergence costs the
// API server nothing but a watch, and counts what converged as each change arrives, so
// that the bench's own CPU does not grow with N (a poll that listed the cache ten times a
// second took 3.5 CPU-seconds of an N = 5000 run, from the two cores the run shares).
type watcher struct {
	cache cache.Cache
	stop  context.CancelFunc
	// last is when the latest change of a watched object arrived (Unix nanoseconds): the
	// check that finds convergence is up to 100 ms late, the change that made it is not.
	last  atomic.Int64
	count convergedCount
}

func watch(ctx context.Context, p *plane, ns string) (*watcher, error) {
	c, err := cache.New(p.env.Config, cache.Options{Scheme: app.Scheme(), DefaultNamespaces: map[string]cache.Config{ns: {}}})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	w := &watcher{cache: c, stop: cancel, count: newConvergedCount()}
	for _, o := range []client.Object{&odav1.ExposedAPI{}, &networkingv1.VirtualService{}, &odav1.Component{}} {
		inf, err := c.GetInformer(ctx, o)
		if err == nil {
			_, err = inf.AddEventHandler(w.handler())
		}
		if err != nil {
			cancel()
			return nil, err
		}
	}
	go func() { _ = c.Start(ctx) }()
	c.WaitForCacheSync(ctx)
	return w, nil
}

// handler records when each change arrived, then counts it.
func (w *watcher) handler() toolscache.ResourceEventHandlerFuncs {
	changed := func(obj any) {
		w.last.Store(time.Now().UnixNano())
		w.count.note(obj, false)
	}
	return toolscache.ResourceEventHandlerFuncs{
		AddFunc:    changed,
		UpdateFunc: func(_, obj any) { changed(obj) },
		DeleteFunc: func(obj any) {
			if gone, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
				obj = gone.Obj
			}
			w.count.note(obj, true)
		},
	}
}

// convergedAt is when the change that the check at polled found converged arrived, if it
// came after start. Each handler records the time before it counts, so that change is
// recorded by the time the check sees its count; a later change makes the figure later,
// never earlier.
func (w *watcher) convergedAt(start, polled time.Time) time.Time {
	if last := time.Unix(0, w.last.Load()); last.After(start) && last.Before(polled) {
		return last
	}
	return polled
}

// converged is the number of APIs with their VirtualService (named in the status), URL
// and ready=true, and of Component entries with their URL and ready.
func (w *watcher) converged() (apis, entries int) {
	return w.count.get()
}

// sameShape checks one of the operator's statuses against the floor's.
func (w *watcher) sameShape(ctx context.Context) error {
	var list odav1.ExposedAPIList
	if err := w.cache.List(ctx, &list, client.Limit(1)); err != nil || len(list.Items) == 0 {
		return fmt.Errorf("no ExposedAPI to compare with the floor: %v", err)
	}
	return sameShape(&list.Items[0])
}

// convergedCount is what converged in one namespace, kept by name as the watch reports
// each object.
type convergedCount struct {
	mu sync.Mutex
	// routed are the names of the VirtualServices; ready those of the APIs whose status
	// names a VirtualService of their own name, with a URL and ready=true; apis counts the
	// names in both.
	routed, ready map[string]bool
	apis          int
	// entries are the converged entries of each Component, by its name.
	entries map[string]int
}

func newConvergedCount() convergedCount {
	return convergedCount{routed: map[string]bool{}, ready: map[string]bool{}, entries: map[string]int{}}
}

func (c *convergedCount) get() (apis, entries int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range c.entries {
		entries += n
	}
	return c.apis, entries
}

// note counts obj as it is now, or as deleted when gone.
func (c *convergedCount) note(obj any, gone bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch o := obj.(type) {
	case *networkingv1.VirtualService:
		c.mark(c.routed, o.Name, !gone)
	case *odav1.ExposedAPI:
		c.mark(c.ready, o.Name, !gone && statusConverged(o))
	case *odav1.Component:
		c.entries[o.Name] = 0
		if !gone {
			c.entries[o.Name] = convergedEntriesOf(o)
		}
	}
}

// mark sets name in set to on, keeping apis the number of names both routed and ready.
func (c *convergedCount) mark(set map[string]bool, name string, on bool) {
	before := c.routed[name] && c.ready[name]
	if on {
		set[name] = true
	} else {
		delete(set, name)
	}
	switch after := c.routed[name] && c.ready[name]; {
	case after && !before:
		c.apis++
	case before && !after:
		c.apis--
	}
}

// statusConverged tells whether api's status names a VirtualService of api's own name, with
// a URL, and the implementation ready.
func statusConverged(api *odav1.ExposedAPI) bool {
	s := api.Status
	return s.APIStatus != nil && s.APIStatus.Name == api.Name && s.APIStatus.URL != "" && s.Implementation != nil && s.Implementation.Ready
}

func convergedEntriesOf(comp *odav1.Component) int {
	n := 0
	for _, e := range comp.Status.CoreAPIs {
		if e.URL != "" && e.Ready {
			n++
		}
	}
	return n
}
