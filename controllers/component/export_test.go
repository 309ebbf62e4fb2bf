package component

import (
	"context"

	ctrl "sigs.k8s.io/controller-runtime"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/controllers/statuswrite"
	"github.com/oda-canvas/api-operator-istio/internal/index"
)

// NewWithoutController is a Reconciler over mgr's cache, with the index SetupWithManager
// registers but no controller, for a test that calls Reconcile itself.
func NewWithoutController(ctx context.Context, mgr ctrl.Manager, w *statuswrite.Writer) (*Reconciler, error) {
	r := &Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Status: w,
		gather: newGather(Quiet, MaxWait, MinInterval, PerEntry)}
	return r, index.Add(ctx, mgr.GetCache(), &odav1.ExposedAPI{}, ParentIndex, index.Namespaced, parentName)
}
