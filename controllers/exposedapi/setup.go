package exposedapi

import (
	"context"

	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/internal/index"
	"github.com/oda-canvas/api-operator-istio/internal/routes"
)

// ImplementationIndex indexes ExposedAPIs by the Service that implements them.
const ImplementationIndex = "exposedapi.implementation"

// SetupIndexes registers the cache indexes the controller and the webhook look up.
func (r *Reconciler) SetupIndexes(ctx context.Context, mgr ctrl.Manager) error {
	c := mgr.GetCache()
	// Routes conflict across namespaces; Services and their slices are a namespace's own.
	if err := index.Add(ctx, c, &odav1.ExposedAPI{}, routes.IndexKey, index.Cluster, r.routeKeys); err != nil {
		return err
	}
	if err := index.Add(ctx, c, &odav1.ExposedAPI{}, routes.MeshIndexKey, index.Cluster, r.meshHosts); err != nil {
		return err
	}
	if err := index.Add(ctx, c, &networkingv1.VirtualService{}, routes.ServedIndexKey, index.Cluster, servedKeys); err != nil {
		return err
	}
	if err := index.Add(ctx, c, &odav1.ExposedAPI{}, ImplementationIndex, index.Namespaced, func(o client.Object) []string {
		return []string{o.(*odav1.ExposedAPI).Spec.Implementation}
	}); err != nil {
		return err
	}
	return index.Add(ctx, c, &discoveryv1.EndpointSlice{}, ServiceNameIndex, index.Namespaced, indexServiceName)
}

// SetupWithManager registers the controller; gateways is the cache of the ingress gateway
// Services.
// extra adds the watches of the extensions.
func (r *Reconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager, gateways cache.Cache, opts controller.Options, extra ...func(*builder.Builder) *builder.Builder) error {
	if err := r.SetupIndexes(ctx, mgr); err != nil {
		return err
	}
	b := ctrl.NewControllerManagedBy(mgr).
		Named("exposedapi").
		WithOptions(opts).
		For(&odav1.ExposedAPI{}, builder.WithPredicates(r.writes.notEcho())).
		// A VirtualService's creation is our own reconcile's doing, or at a start, comes with
		// its ExposedAPI's own event: only changes and deletions need a look.
		Owns(&networkingv1.VirtualService{}, builder.WithPredicates(predicate.Funcs{
			CreateFunc: func(event.CreateEvent) bool { return false },
		})).
		Watches(&networkingv1.VirtualService{}, r.servedPeers()).
		Watches(&odav1.ExposedAPI{}, r.routePeers()).
		Watches(&discoveryv1.EndpointSlice{}, handler.EnqueueRequestsFromMapFunc(r.apisOfSlice),
			builder.WithPredicates(readinessChanged())).
		WatchesRawSource(source.Kind(gateways, &corev1.Service{},
			handler.TypedEnqueueRequestsFromMapFunc(func(ctx context.Context, _ *corev1.Service) []reconcile.Request {
				return r.allAPIs(ctx)
			}), gatewayChanged()))
	for _, add := range extra {
		b = add(b)
	}
	c, err := b.Build(r)
	r.Controller = c
	return err
}

// apisOfSlice maps an EndpointSlice to the ExposedAPIs its Service implements.
func (r *Reconciler) apisOfSlice(ctx context.Context, o client.Object) []reconcile.Request {
	svc := o.GetLabels()[discoveryv1.LabelServiceName]
	if svc == "" {
		return nil
	}
	return r.requests(ctx, client.InNamespace(o.GetNamespace()), client.MatchingFields{ImplementationIndex: svc})
}

// APIsOfService maps a Service to the ExposedAPIs it implements.
func (r *Reconciler) APIsOfService(ctx context.Context, o client.Object) []reconcile.Request {
	return r.requests(ctx, client.InNamespace(o.GetNamespace()), client.MatchingFields{ImplementationIndex: o.GetName()})
}

func (r *Reconciler) allAPIs(ctx context.Context) []reconcile.Request {
	return r.requests(ctx)
}

func (r *Reconciler) requests(ctx context.Context, opts ...client.ListOption) []reconcile.Request {
	var list odav1.ExposedAPIList
	// Only the names are read, so the cache's objects need not be copied.
	if err := r.Client.List(ctx, &list, append(opts, client.UnsafeDisableDeepCopy)...); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "listing ExposedAPIs from the cache")
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(list.Items))
	for i := range list.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
	}
	return reqs
}

type queue = workqueue.TypedRateLimitingInterface[reconcile.Request]

// wakeClaimants queues every claimant of the route keys but self.
func (r *Reconciler) wakeClaimants(ctx context.Context, keys []string, self client.ObjectKey, q queue) {
	for _, key := range keys {
		claimants, err := r.claimants(ctx, key)
		if err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "finding the claimants of a route")
			continue
		}
		for i := range claimants {
			if key := client.ObjectKeyFromObject(&claimants[i]); key != self {
				q.Add(reconcile.Request{NamespacedName: key})
			}
		}
	}
}

// wakeMesh queues every internal API of the mesh hosts but self.
func (r *Reconciler) wakeMesh(ctx context.Context, hosts []string, self client.ObjectKey, q queue) {
	for _, host := range hosts {
		for _, req := range r.requests(ctx, client.MatchingFields{routes.MeshIndexKey: host}) {
			if req.NamespacedName != self {
				q.Add(req)
			}
		}
	}
}

// routePeers wakes the other claimants of a route when one changes or goes, so that a
// loser takes the route over when the owner leaves it; and the other internal APIs of the
// same Service, so that the mesh route is rebuilt and led by the oldest of them. An update
// wakes the peers of both the old and the new spec.
func (r *Reconciler) routePeers() handler.EventHandler {
	return onSpecChange(func(ctx context.Context, o client.Object, q queue) {
		self := client.ObjectKeyFromObject(o)
		r.wakeClaimants(ctx, r.routeKeys(o), self, q)
		r.wakeMesh(ctx, r.meshHosts(o), self, q)
	})
}

// servedPeers wakes the claimants of the route a VirtualService serves, or served, when it
// appears, changes or goes: a route an API's kept VirtualService held is free again once that
// VirtualService moves or goes. A mesh VirtualService wakes the internal APIs of its Service,
// whose Programmed condition says whether it routes them. Its own API is woken by Owns.
func (r *Reconciler) servedPeers() handler.EventHandler {
	return onSpecChange(func(ctx context.Context, o client.Object, q queue) {
		self := ownerKey(o)
		r.wakeClaimants(ctx, servedKeys(o), self, q)
		r.wakeMesh(ctx, vsMeshHosts(o), self, q)
	})
}

// ServedPeers wakes the claimants of the route keys a route object of Route's kind serves,
// or served, when it appears, changes or goes, as servedPeers does for VirtualServices: a
// route an API's kept route held is free again once that route moves or goes.
func (r *Reconciler) ServedPeers(keys func(client.Object) []string) handler.EventHandler {
	return onSpecChange(func(ctx context.Context, o client.Object, q queue) {
		r.wakeClaimants(ctx, keys(o), ownerKey(o), q)
	})
}

// onSpecChange calls wake with an object that appears or goes, and with both the old and the
// new object of an update to its spec (a new generation) or of one that starts deletion.
func onSpecChange(wake func(context.Context, client.Object, queue)) handler.EventHandler {
	return handler.Funcs{
		CreateFunc: func(ctx context.Context, e event.CreateEvent, q queue) { wake(ctx, e.Object, q) },
		UpdateFunc: func(ctx context.Context, e event.UpdateEvent, q queue) {
			if e.ObjectOld.GetGeneration() == e.ObjectNew.GetGeneration() && e.ObjectNew.GetDeletionTimestamp() == nil {
				return
			}
			wake(ctx, e.ObjectOld, q)
			wake(ctx, e.ObjectNew, q)
		},
		DeleteFunc: func(ctx context.Context, e event.DeleteEvent, q queue) { wake(ctx, e.Object, q) },
	}
}

// ownerKey names the ExposedAPI that controls a child, or nothing.
func ownerKey(o client.Object) client.ObjectKey {
	if ref := metav1.GetControllerOf(o); ref != nil {
		return client.ObjectKey{Namespace: o.GetNamespace(), Name: ref.Name}
	}
	return client.ObjectKey{}
}
