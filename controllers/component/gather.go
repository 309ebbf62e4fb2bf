package component

import (
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// Quiet is how long a Component's ExposedAPIs must be left unchanged before it is written.
// It is added to every Component update (and to the end of a first sync of thousands of
// APIs), so it is short: changes closer together than this are gathered, and MaxWait bounds
// the rest.
const Quiet = 250 * time.Millisecond

// MaxWait bounds how long a write waits while its ExposedAPIs keep changing.
const MaxWait = 10 * time.Second

// gather turns the changes of a Component's ExposedAPIs into one write: the Component is
// written once its APIs have been quiet for quiet, or maxWait after the first change not yet
// written, whichever comes first. A Component's write costs the API server in proportion to
// its entries (the whole object is decoded, validated, stored and sent to every watcher), so
// while thousands of APIs converge it is written every maxWait rather than every second:
// written once a second, the writes' cost grew with the square of the APIs.
type gather struct {
	quiet, maxWait time.Duration
	now            func() time.Time

	mu      sync.Mutex
	pending map[types.NamespacedName]window
}

// window is the first and last change of a Component's APIs not yet written.
type window struct{ first, last time.Time }

func newGather(quiet, maxWait time.Duration) *gather {
	return &gather{quiet: quiet, maxWait: maxWait, now: time.Now, pending: map[types.NamespacedName]window{}}
}

// changed records a change of one of key's APIs.
func (g *gather) changed(key types.NamespacedName) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	w, ok := g.pending[key]
	if !ok {
		w.first = now
	}
	w.last = now
	g.pending[key] = w
}

// wait is how long key's write should still wait; 0 when it is due, and then the changes
// so far count as written.
func (g *gather) wait(key types.NamespacedName) time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	w, ok := g.pending[key]
	if !ok {
		return 0
	}
	now := g.now()
	d := min(w.last.Add(g.quiet).Sub(now), w.first.Add(g.maxWait).Sub(now))
	if d <= 0 {
		delete(g.pending, key)
		return 0
	}
	return d
}

// forget drops key's changes, for a Component that is gone.
func (g *gather) forget(key types.NamespacedName) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.pending, key)
}
