package component

import (
	"context"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/controllers/exposedapi"
	"github.com/oda-canvas/api-operator-istio/internal/index"
)

// ParentIndex indexes ExposedAPIs by the name of their parent Component.
const ParentIndex = "exposedapi.parentComponent"

// parentRef is the ExposedAPI's first ownerReference when it is an ODA Component (R5.1).
// Other groups have kinds named Component too (OAM's, for one): an API one of those owns
// has no ODA parent, even where an ODA Component of the same name exists.
func parentRef(api *odav1.ExposedAPI) *metav1.OwnerReference {
	refs := api.OwnerReferences
	if len(refs) == 0 || refs[0].Kind != "Component" {
		return nil
	}
	if gv, err := schema.ParseGroupVersion(refs[0].APIVersion); err != nil || gv.Group != odav1.GroupVersion.Group {
		return nil
	}
	return &refs[0]
}

// parentName is what ParentIndex indexes an ExposedAPI by.
func parentName(o client.Object) []string {
	if ref := parentRef(o.(*odav1.ExposedAPI)); ref != nil {
		return []string{ref.Name}
	}
	return nil
}

// AddIndex registers the index of ExposedAPIs by parent. It must precede the manager's
// start, which SetupWithManager may not: the ExposedAPI informer takes no index once it runs.
func AddIndex(ctx context.Context, mgr ctrl.Manager) error {
	return index.Add(ctx, mgr.GetCache(), &odav1.ExposedAPI{}, ParentIndex, index.Namespaced, parentName)
}

// SetupWithManager registers the controller, once AddIndex has registered the index and
// the Component kind is served: a watch of a kind that is not served never syncs, and
// controller-runtime's cache-sync timeout then stops the whole manager. Set up after the
// manager's start, the controller starts at once (on the leader).
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager, opts controller.Options) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named("component").
		WithOptions(opts).
		For(&odav1.Component{}, builder.WithPredicates(predicate.ResourceVersionChangedPredicate{})).
		Watches(&odav1.ExposedAPI{}, r.enqueueParent()).
		Complete(r)
}

// enqueueParent records a change of an ExposedAPI for its parent Component, and whether the
// API is settled, and queues the Component for when the change is due; Reconcile waits
// longer if more came since.
func (r *Reconciler) enqueueParent() handler.EventHandler {
	if r.gather == nil {
		r.gather = newGather(Quiet, MaxWait, MinInterval, PerEntry)
	}
	return handler.Funcs{
		CreateFunc:  func(_ context.Context, e event.CreateEvent, q queue) { r.track(nil, e.Object, q) },
		UpdateFunc:  func(_ context.Context, e event.UpdateEvent, q queue) { r.track(e.ObjectOld, e.ObjectNew, q) },
		DeleteFunc:  func(_ context.Context, e event.DeleteEvent, q queue) { r.leave(e.Object, q) },
		GenericFunc: func(_ context.Context, e event.GenericEvent, q queue) { r.track(nil, e.Object, q) },
	}
}

type queue = workqueue.TypedRateLimitingInterface[reconcile.Request]

// track records api's change for its parent (and its leaving the old one, if another). An
// update that changes neither a Component entry nor whether the API is settled is passed
// over.
func (r *Reconciler) track(old, obj client.Object, q queue) {
	api := obj.(*odav1.ExposedAPI)
	entry := true
	if old != nil {
		prev := old.(*odav1.ExposedAPI)
		if entry = entryChanged(prev, api); !entry && exposedapi.Settled(prev) == exposedapi.Settled(api) {
			return
		}
	}
	reqs := toParent(api)
	if old != nil && !sameParent(toParent(old), reqs) {
		r.leave(old, q)
	}
	for _, req := range reqs {
		r.gather.settle(req.NamespacedName, client.ObjectKeyFromObject(api), exposedapi.Settled(api))
		if entry {
			r.gather.changed(req.NamespacedName)
		}
		r.queue(req, q)
	}
}

// leave counts api as settled for its parent: it is gone, or another's.
func (r *Reconciler) leave(api client.Object, q queue) {
	for _, req := range toParent(api) {
		r.gather.settle(req.NamespacedName, client.ObjectKeyFromObject(api), true)
		r.queue(req, q)
	}
}

// queue adds req for when its write is due, if a change of it is pending.
func (r *Reconciler) queue(req reconcile.Request, q queue) {
	if d, pending := r.gather.due(req.NamespacedName); pending {
		q.AddAfter(req, d)
	}
}

func sameParent(a, b []reconcile.Request) bool {
	return len(a) == len(b) && (len(a) == 0 || a[0] == b[0])
}

func toParent(o client.Object) []reconcile.Request {
	ref := parentRef(o.(*odav1.ExposedAPI))
	if ref == nil {
		return nil
	}
	return []reconcile.Request{{NamespacedName: client.ObjectKey{Namespace: o.GetNamespace(), Name: ref.Name}}}
}

// entryChanged: the facts of o's entry differ in n, or its parent.
func entryChanged(o, n *odav1.ExposedAPI) bool {
	return factsOf(o) != factsOf(n) || !equality.Semantic.DeepEqual(o.OwnerReferences, n.OwnerReferences)
}
