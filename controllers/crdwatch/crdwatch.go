// Package crdwatch tells interested parts of the operator when a CustomResourceDefinition
// appears, changes or goes: whether ODA resources have a status subresource, and whether the
// ServiceMonitor kind exists, can change while the operator runs.
package crdwatch

import (
	"context"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// Reconciler calls OnChange with the API group of every CRD event, and again until the
// API server's discovery serves the CRD's resource: discovery lags the CRD's own events, and
// a kind looked up too early would read as missing until the next change.
type Reconciler struct {
	Client    client.Reader
	Discovery discovery.DiscoveryInterface
	OnChange  []func(ctx context.Context, group string)
	// Name names the controller: "crdwatch" when empty.
	Name string
	// EveryReplica runs it without the leader's lease, for what every replica serves (the
	// webhooks' caches); OnChange must then write nothing.
	EveryReplica bool

	// cached is Discovery behind a cache (SetupWithManager makes it).
	cached discovery.CachedDiscoveryInterface
}

// +kubebuilder:rbac:groups=apiextensions.k8s.io,resources=customresourcedefinitions,verbs=list;watch

// Reconcile reports the group of the CRD named in req; CRD names are <plural>.<group>.
// A CRD that exists is reported only once discovery serves it: reported earlier, a kind
// looked up at once would still read as missing, and nothing would report it again.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	plural, group, ok := strings.Cut(req.Name, ".")
	if !ok {
		return ctrl.Result{}, nil
	}
	crd := CRDMeta()
	err := r.Client.Get(ctx, req.NamespacedName, crd)
	if err != nil && !apierrors.IsNotFound(err) {
		return ctrl.Result{}, err
	}
	if err == nil && crd.DeletionTimestamp == nil && !r.served(group, plural) {
		// Try again with the rate limiter's growing backoff: discovery serves a new CRD
		// within seconds and a broken one never, which no fixed RequeueAfter suits both.
		//lint:ignore SA1019 the rate-limited requeue is the behaviour wanted here
		return ctrl.Result{Requeue: true}, nil
	}
	for _, f := range r.OnChange {
		f(ctx, group)
	}
	return ctrl.Result{}, nil
}

// served asks discovery through a cache: at start every CRD of the cluster is reconciled
// once, and asking the API server for each would fetch the whole discovery document once
// per CRD. The cache is dropped at every CRD event after the initial list (changed) and
// when it lacks the resource (a CRD it predates).
func (r *Reconciler) served(group, plural string) bool {
	if servedBy(r.cached, group, plural) {
		return true
	}
	r.cached.Invalidate()
	return servedBy(r.cached, group, plural)
}

func servedBy(dc discovery.DiscoveryInterface, group, plural string) bool {
	groups, err := dc.ServerGroups()
	if err != nil {
		return false
	}
	for _, g := range groups.Groups {
		if g.Name != group {
			continue
		}
		for _, v := range g.Versions {
			list, err := dc.ServerResourcesForGroupVersion(v.GroupVersion)
			if err != nil {
				continue
			}
			for _, res := range list.APIResources {
				if res.Name == plural {
					return true
				}
			}
		}
	}
	return false
}

// CRDMeta is an empty CustomResourceDefinition of metadata only, to read one into.
func CRDMeta() *metav1.PartialObjectMetadata {
	crd := &metav1.PartialObjectMetadata{}
	crd.SetGroupVersionKind(apiextensionsv1.SchemeGroupVersion.WithKind("CustomResourceDefinition"))
	return crd
}

// SetupWithManager watches CRD metadata only.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager, opts controller.Options) error {
	r.cached = memory.NewMemCacheClient(r.Discovery)
	name := r.Name
	if name == "" {
		name = "crdwatch"
	}
	if r.EveryReplica {
		opts.NeedLeaderElection = ptr.To(false)
	}
	return ctrl.NewControllerManagedBy(mgr).Named(name).WithOptions(opts).
		Watches(CRDMeta(), changes{EnqueueRequestForObject: &handler.EnqueueRequestForObject{}, stale: r.cached.Invalidate}, builder.OnlyMetadata).
		Complete(r)
}

// changes queues every CRD event, and first marks discovery's cached answer stale for the
// events that are changes, not the CRDs found at start.
type changes struct {
	*handler.EnqueueRequestForObject
	stale func()
}

func (h changes) Create(ctx context.Context, e event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	if !e.IsInInitialList {
		h.stale()
	}
	h.EnqueueRequestForObject.Create(ctx, e, q)
}

func (h changes) Update(ctx context.Context, e event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	h.stale()
	h.EnqueueRequestForObject.Update(ctx, e, q)
}

func (h changes) Delete(ctx context.Context, e event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	h.stale()
	h.EnqueueRequestForObject.Delete(ctx, e, q)
}
