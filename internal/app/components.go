package app

import (
	"context"
	"fmt"
	"sync"

	"k8s.io/client-go/discovery"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/controller"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/controllers/component"
	"github.com/oda-canvas/api-operator-istio/controllers/crdwatch"
)

// componentWiring starts the Component controller once the Component kind is served: at
// start, or when its CRD arrives. The canvas installs that CRD, but the operator runs
// without it ("Running the binary"): watched before it is served, the kind's informer never
// synced, and two minutes in controller-runtime's cache-sync timeout stopped the whole
// manager, webhooks and all. Until then no Component status is kept; nothing else of the
// operator reads or writes Components.
type componentWiring struct {
	r      *component.Reconciler
	mgr    ctrl.Manager
	opts   controller.Options
	served *crdwatch.KindServed

	mu      sync.Mutex
	started bool
}

func newComponentWiring(ctx context.Context, mgr ctrl.Manager, dc discovery.DiscoveryInterface, r *component.Reconciler, opts controller.Options) (*componentWiring, error) {
	if err := component.AddIndex(ctx, mgr); err != nil {
		return nil, err
	}
	return &componentWiring{r: r, mgr: mgr, opts: opts,
		served: &crdwatch.KindServed{Discovery: dc, GroupVersion: odav1.GroupVersion.String(), Resource: "components"}}, nil
}

// setup starts the controller with the others when the kind is served, and else says once
// that Component status waits for the CRD.
func (w *componentWiring) setup(ctx context.Context) error {
	if !w.served.Served() {
		ctrl.LoggerFrom(ctx).Info("Component status is not kept: the Component CRD is not installed; it is kept from when the CRD is served",
			"crd", "components."+odav1.GroupVersion.Group)
		return nil
	}
	_, err := w.start()
	return err
}

// start sets the controller up unless it is already; it tells whether it did now.
func (w *componentWiring) start() (bool, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.started {
		return false, nil
	}
	if err := w.r.SetupWithManager(w.mgr, w.opts); err != nil {
		return false, fmt.Errorf("setting up the Component controller: %w", err)
	}
	w.started = true
	return true, nil
}

// onCRDChange, on the leader, starts the controller when an oda.tmforum.org CRD change
// makes the Component kind served; the ExposedAPIs' initial list then brings every
// Component with APIs up to date.
func (w *componentWiring) onCRDChange(ctx context.Context, group string) {
	if group != odav1.GroupVersion.Group {
		return
	}
	if served, _ := w.served.Recheck(); !served {
		return
	}
	switch now, err := w.start(); {
	case err != nil:
		ctrl.LoggerFrom(ctx).Error(err, "Component status is not kept until a restart")
	case now:
		ctrl.LoggerFrom(ctx).Info("the Component CRD is served: Component status is kept from now on")
	}
}
