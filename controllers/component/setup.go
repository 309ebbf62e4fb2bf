package component

import (
	"context"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
	"github.com/oda-canvas/api-operator-istio/internal/index"
)

// ParentIndex indexes ExposedAPIs by the name of their parent Component.
const ParentIndex = "exposedapi.parentComponent"

// parentRef is the ExposedAPI's first ownerReference when it is a Component (R5.1).
func parentRef(api *odav1.ExposedAPI) *metav1.OwnerReference {
	refs := api.OwnerReferences
	if len(refs) == 0 || refs[0].Kind != "Component" {
		return nil
	}
	return &refs[0]
}

// SetupWithManager registers the index and the controller.
func (r *Reconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager, opts controller.Options) error {
	err := index.Add(ctx, mgr.GetCache(), &odav1.ExposedAPI{}, ParentIndex, index.Namespaced, func(o client.Object) []string {
		if ref := parentRef(o.(*odav1.ExposedAPI)); ref != nil {
			return []string{ref.Name}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named("component").
		WithOptions(opts).
		For(&odav1.Component{}, builder.WithPredicates(predicate.ResourceVersionChangedPredicate{})).
		Watches(&odav1.ExposedAPI{}, r.enqueueParent(), builder.WithPredicates(summaryChanged())).
		Complete(r)
}

// enqueueParent records a change of an ExposedAPI for its parent Component and queues the
// Component when the change could be written; Reconcile waits longer if more came since.
func (r *Reconciler) enqueueParent() handler.EventHandler {
	if r.gather == nil {
		r.gather = newGather(Quiet, MaxWait)
	}
	type queue = workqueue.TypedRateLimitingInterface[reconcile.Request]
	add := func(o client.Object, q queue) {
		for _, req := range toParent(o) {
			r.gather.changed(req.NamespacedName)
			q.AddAfter(req, r.gather.quiet)
		}
	}
	return handler.Funcs{
		CreateFunc:  func(_ context.Context, e event.CreateEvent, q queue) { add(e.Object, q) },
		UpdateFunc:  func(_ context.Context, e event.UpdateEvent, q queue) { add(e.ObjectNew, q) },
		GenericFunc: func(_ context.Context, e event.GenericEvent, q queue) { add(e.Object, q) },
	}
}

func toParent(o client.Object) []reconcile.Request {
	ref := parentRef(o.(*odav1.ExposedAPI))
	if ref == nil {
		return nil
	}
	return []reconcile.Request{{NamespacedName: client.ObjectKey{Namespace: o.GetNamespace(), Name: ref.Name}}}
}

// summaryChanged lets through only ExposedAPI changes that can change a Component entry.
func summaryChanged() predicate.Predicate {
	return predicate.Funcs{
		UpdateFunc: func(e event.UpdateEvent) bool {
			o, n := e.ObjectOld.(*odav1.ExposedAPI), e.ObjectNew.(*odav1.ExposedAPI)
			return factsOf(o) != factsOf(n) || !equality.Semantic.DeepEqual(o.OwnerReferences, n.OwnerReferences)
		},
		DeleteFunc: func(event.DeleteEvent) bool { return false },
	}
}
