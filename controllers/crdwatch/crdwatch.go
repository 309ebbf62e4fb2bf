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
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
)

// Reconciler calls OnChange with the API group of every CRD event, and again until the
// API server's discovery serves the CRD's resource: discovery lags the CRD's own events, and
// a kind looked up too early would read as missing until the next change.
type Reconciler struct {
	Client    client.Reader
	Discovery discovery.DiscoveryInterface
	OnChange  []func(ctx context.Context, group string)
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
	crd := crdMeta()
	err := r.Client.Get(ctx, req.NamespacedName, crd)
	if err != nil && !apierrors.IsNotFound(err) {
		return ctrl.Result{}, err
	}
	if err == nil && crd.DeletionTimestamp == nil && !r.served(group, plural) {
		// Try again with the rate limiter's growing backoff.
		return ctrl.Result{Requeue: true}, nil
	}
	for _, f := range r.OnChange {
		f(ctx, group)
	}
	return ctrl.Result{}, nil
}

func (r *Reconciler) served(group, plural string) bool {
	groups, err := r.Discovery.ServerGroups()
	if err != nil {
		return false
	}
	for _, g := range groups.Groups {
		if g.Name != group {
			continue
		}
		for _, v := range g.Versions {
			list, err := r.Discovery.ServerResourcesForGroupVersion(v.GroupVersion)
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

func crdMeta() *metav1.PartialObjectMetadata {
	crd := &metav1.PartialObjectMetadata{}
	crd.SetGroupVersionKind(apiextensionsv1.SchemeGroupVersion.WithKind("CustomResourceDefinition"))
	return crd
}

// SetupWithManager watches CRD metadata only.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager, opts controller.Options) error {
	return ctrl.NewControllerManagedBy(mgr).Named("crdwatch").WithOptions(opts).
		For(crdMeta(), builder.OnlyMetadata).
		Complete(r)
}
