package component

import (
	"context"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/oda-canvas/api-operator-istio/controllers/statuswrite"
)

// NewWithoutController is a Reconciler over mgr's cache, with the index AddIndex
// registers but no controller, for a test that calls Reconcile itself.
func NewWithoutController(ctx context.Context, mgr ctrl.Manager, w *statuswrite.Writer) (*Reconciler, error) {
	r := &Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Status: w,
		gather: newGather(Quiet, MaxWait, MinInterval, PerEntry)}
	return r, AddIndex(ctx, mgr)
}
