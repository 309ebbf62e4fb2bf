package component

import (
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// Quiet is how long a Component's ExposedAPIs must be left unchanged before it is written,
// while some of them are still to be reconciled. Changes closer together than this are
// gathered, and MaxWait bounds the rest.
const Quiet = 250 * time.Millisecond

// MaxWait bounds how long a write waits while its ExposedAPIs keep changing.
const MaxWait = 10 * time.Second

// PerEntry is how far apart a Component's writes are at least, per entry, while some of its
// ExposedAPIs are not settled (up to MaxWait). A write costs the API server in proportion to
// the entries (about a third of a CPU-millisecond each, and the garbage of it), so a pause
// of the converging APIs longer than Quiet, which under load an API server's own hiccup
// makes, no longer writes a large Component again: at 2500 entries it was written 6 to 12
// times in a minute, the more the slower the API server already was.
const PerEntry = 4 * time.Millisecond

// MinInterval is how long a Component's writes are apart at least once every one of its
// ExposedAPIs is settled (reconciled at its generation): then nothing more is coming from
// this operator, and the change is written at once unless the last write was more recent.
const MinInterval = time.Second

// gather turns the changes of a Component's ExposedAPIs into few writes. While some of its
// APIs are not settled yet (thousands converging at once), the Component is written once
// its APIs have been quiet for quiet, or maxWait after the first change not yet written,
// whichever comes first, and no sooner than perEntry per entry after its last write: a
// Component's write costs the API server in proportion to its entries (the whole object is
// decoded, validated, stored and sent to every watcher), and written once a second while
// thousands of APIs converge, the writes' cost grew with the square of the APIs. Once all
// are settled, the change is due at once, at most one write every minInterval: the last
// API of a burst, or a single edit, reaches the Component without waiting out the quiet
// time.
type gather struct {
	quiet, maxWait, minInterval, perEntry time.Duration
	now                                   func() time.Time

	mu      sync.Mutex
	pending map[types.NamespacedName]window
	// written is when each Component's last write was due.
	written map[types.NamespacedName]time.Time
	// unsettled are the APIs of each Component this operator has yet to reconcile.
	unsettled map[types.NamespacedName]map[types.NamespacedName]bool
	// entries is each Component's number of API entries when last asked to wait.
	entries map[types.NamespacedName]int
}

// window is the first and last change of a Component's APIs not yet written.
type window struct{ first, last time.Time }

func newGather(quiet, maxWait, minInterval, perEntry time.Duration) *gather {
	return &gather{
		quiet: quiet, maxWait: maxWait, minInterval: minInterval, perEntry: perEntry, now: time.Now,
		pending:   map[types.NamespacedName]window{},
		written:   map[types.NamespacedName]time.Time{},
		unsettled: map[types.NamespacedName]map[types.NamespacedName]bool{},
		entries:   map[types.NamespacedName]int{},
	}
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

// settle records whether api, one of key's APIs, is settled.
func (g *gather) settle(key, api types.NamespacedName, settled bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	apis := g.unsettled[key]
	switch {
	case !settled && apis == nil:
		g.unsettled[key] = map[types.NamespacedName]bool{api: true}
	case !settled:
		apis[api] = true
	default:
		delete(apis, api)
		if len(apis) == 0 {
			delete(g.unsettled, key)
		}
	}
}

// due is how long key's write should still wait, without counting it as written, and
// whether a change of it is pending at all.
func (g *gather) due(key types.NamespacedName) (time.Duration, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	_, pending := g.pending[key]
	return max(g.delay(key), 0), pending
}

// wait is how long the write of key, a Component of entries API entries, should still
// wait; 0 when it is due, and then the changes so far count as written.
func (g *gather) wait(key types.NamespacedName, entries int) time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.entries[key] = entries
	if d := g.delay(key); d > 0 {
		return d
	}
	if _, ok := g.pending[key]; ok {
		delete(g.pending, key)
		g.written[key] = g.now()
	}
	return 0
}

func (g *gather) delay(key types.NamespacedName) time.Duration {
	w, ok := g.pending[key]
	if !ok {
		return 0
	}
	now := g.now()
	d := min(w.last.Add(g.quiet).Sub(now), w.first.Add(g.maxWait).Sub(now))
	if len(g.unsettled[key]) == 0 {
		return min(d, g.written[key].Add(g.minInterval).Sub(now))
	}
	// Never past first+maxWait: the first change came after the last write.
	spacing := min(time.Duration(g.entries[key])*g.perEntry, g.maxWait)
	return max(d, g.written[key].Add(spacing).Sub(now))
}

// forget drops key's changes and APIs, for a Component that is gone.
func (g *gather) forget(key types.NamespacedName) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.pending, key)
	delete(g.written, key)
	delete(g.unsettled, key)
	delete(g.entries, key)
}
