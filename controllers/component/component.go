// Package component keeps each parent Component's API summary true: the url, developerUI and
// ready of every ExposedAPI it owns, in the entry of status.coreAPIs, managementAPIs or
// securityAPIs whose uid is the ExposedAPI's. Only those fields are written, by a JSON patch
// guarded by the Component's resourceVersion, so the other operators that own the rest of
// the Component never lose a write.
package component

import (
	"context"
	"encoding/json"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/controllers/statuswrite"
)

// Reconciler reconciles the API summary of Components.
type Reconciler struct {
	// Client reads from the cache and writes to the API server.
	Client client.Client
	// APIReader reads the API server directly, after a conflict.
	APIReader client.Reader
	Status    *statuswrite.Writer

	gather *gather
}

// +kubebuilder:rbac:groups=oda.tmforum.org,resources=components,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=oda.tmforum.org,resources=components/status,verbs=patch

// Reconcile writes the changed summary fields of one Component.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	comp := &odav1.Component{}
	if err := r.Client.Get(ctx, req.NamespacedName, comp); err != nil {
		// A Component that does not exist yet is picked up by the watch when it appears.
		r.gather.forget(req.NamespacedName)
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if d := r.gather.wait(req.NamespacedName, entries(comp)); d > 0 {
		return ctrl.Result{RequeueAfter: d}, nil
	}
	apis, err := r.children(ctx, comp)
	if err != nil {
		return ctrl.Result{}, err
	}
	if len(summaryOps(comp, apis)) == 0 {
		return ctrl.Result{}, nil
	}
	err = retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		return r.patch(ctx, comp, apis)
	})
	if apierrors.IsNotFound(err) {
		// Gone, which the next Get says, or its CRD no longer serves /status, which the
		// writer looks up again: either way the change is not written yet.
		//lint:ignore SA1019 a rate-limited requeue, not a poll, is what is wanted
		return ctrl.Result{Requeue: true}, nil
	}
	return ctrl.Result{}, err
}

// patch writes the ops against comp; after a conflict it reads the Component afresh.
func (r *Reconciler) patch(ctx context.Context, comp *odav1.Component, apis []odav1.ExposedAPI) error {
	ops := summaryOps(comp, apis)
	if len(ops) == 0 {
		return nil
	}
	// Replacing resourceVersion with the one read makes the API server refuse the patch
	// with a Conflict if anyone wrote in between: the entry indexes may have moved.
	ops = append(ops, op{Op: "replace", Path: "/metadata/resourceVersion", Value: comp.ResourceVersion})
	raw, err := json.Marshal(ops)
	if err != nil {
		return err
	}
	err = r.Status.Patch(ctx, comp.DeepCopy(), client.RawPatch(types.JSONPatchType, raw))
	if apierrors.IsConflict(err) || apierrors.IsInvalid(err) {
		if getErr := r.APIReader.Get(ctx, client.ObjectKeyFromObject(comp), comp); getErr != nil {
			return getErr
		}
		return apierrors.NewConflict(odav1.GroupVersion.WithResource("components").GroupResource(), comp.Name, err)
	}
	if err == nil {
		logf.FromContext(ctx).Info("component API summary updated", "changes", len(ops)-1)
	}
	return err
}

// children are the ExposedAPIs whose first ownerReference is comp.
func (r *Reconciler) children(ctx context.Context, comp *odav1.Component) ([]odav1.ExposedAPI, error) {
	var list odav1.ExposedAPIList
	// Read only, so the cache's objects are not copied: a Component may have thousands.
	err := r.Client.List(ctx, &list, client.InNamespace(comp.Namespace), client.MatchingFields{ParentIndex: comp.Name}, client.UnsafeDisableDeepCopy)
	if err != nil {
		return nil, fmt.Errorf("listing the ExposedAPIs of %s: %w", comp.Name, err)
	}
	// Matched by name, not uid: entries are matched by the ExposedAPI's own uid, and the
	// Component may be (re)created after its ExposedAPIs.
	return list.Items, nil
}
