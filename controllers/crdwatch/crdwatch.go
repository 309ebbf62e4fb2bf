// Package crdwatch tells interested parts of the operator when a CustomResourceDefinition
// appears, changes or goes: whether ODA resources have a status subresource, and whether the
// ServiceMonitor kind exists, can change while the operator runs.
package crdwatch

import (
	"context"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/controller"
)

// Reconciler calls OnChange with the API group of every CRD event.
type Reconciler struct {
	OnChange []func(ctx context.Context, group string)
}

// +kubebuilder:rbac:groups=apiextensions.k8s.io,resources=customresourcedefinitions,verbs=get;list;watch

// Reconcile reports the group of the CRD named in req; CRD names are <plural>.<group>.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	_, group, ok := strings.Cut(req.Name, ".")
	if !ok {
		return ctrl.Result{}, nil
	}
	for _, f := range r.OnChange {
		f(ctx, group)
	}
	return ctrl.Result{}, nil
}

// SetupWithManager watches CRD metadata only.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager, opts controller.Options) error {
	crd := &metav1.PartialObjectMetadata{}
	crd.SetGroupVersionKind(apiextensionsv1.SchemeGroupVersion.WithKind("CustomResourceDefinition"))
	return ctrl.NewControllerManagedBy(mgr).Named("crdwatch").WithOptions(opts).
		For(crd, builder.OnlyMetadata).
		Complete(r)
}
