package exposedapi

import (
	"sync"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
)

// ownWrites remembers each ExposedAPI's last status write by this operator: the
// resourceVersion it replaced and the one it made. While the cache still shows the version
// replaced, a reconcile would only repeat the write and fail on the conflict; when the
// cache's update event brings exactly the version made, it brings nothing to act on.
type ownWrites struct{ last sync.Map } // types.NamespacedName -> statusWrite

type statusWrite struct{ replaced, made string }

func (w *ownWrites) wrote(key types.NamespacedName, replaced, made string) {
	w.last.Store(key, statusWrite{replaced: replaced, made: made})
}

func (w *ownWrites) forget(key types.NamespacedName) { w.last.Delete(key) }

// behind tells whether version is the one our last write of key replaced.
func (w *ownWrites) behind(key types.NamespacedName, version string) bool {
	v, ok := w.last.Load(key)
	if !ok {
		return false
	}
	last := v.(statusWrite)
	if version == last.replaced {
		return true
	}
	if version != last.made { // changed since: our write is history
		w.last.CompareAndDelete(key, last)
	}
	return false
}

// notEcho drops the update event of our own status write: the object is then exactly as
// we wrote it, and reconciling it again would only read, compare and find nothing to do.
// A reconcile that found the cache behind in the meantime requeued itself.
func (w *ownWrites) notEcho() predicate.Predicate {
	return predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		key := client.ObjectKeyFromObject(e.ObjectNew)
		v, ok := w.last.Load(key)
		if !ok || v.(statusWrite).made != e.ObjectNew.GetResourceVersion() {
			return true
		}
		w.last.CompareAndDelete(key, v)
		return false
	}}
}
