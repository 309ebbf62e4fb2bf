// Package statuswrite writes the status of custom resources whether or not their CRD has a
// status subresource. The ODA Canvas CRDs have none, so there status is written through the
// main resource; our generated CRDs have one. Which it is gets discovered per resource and
// looked up again when CRDs change.
package statuswrite

import (
	"context"
	"fmt"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
)

// Writer patches status, through /status where the resource has it.
type Writer struct {
	client    client.Client
	discovery discovery.DiscoveryInterface

	mu    sync.RWMutex
	known map[schema.GroupVersionKind]bool
}

// New returns a Writer that asks dc which resources have a status subresource.
func New(c client.Client, dc discovery.DiscoveryInterface) *Writer {
	return &Writer{client: c, discovery: dc, known: map[schema.GroupVersionKind]bool{}}
}

// HasSubresource tells whether obj's resource serves /status.
func (w *Writer) HasSubresource(obj client.Object) (bool, error) {
	gvk, err := apiutil.GVKForObject(obj, w.client.Scheme())
	if err != nil {
		return false, err
	}
	w.mu.RLock()
	has, ok := w.known[gvk]
	w.mu.RUnlock()
	if ok {
		return has, nil
	}
	has, err = w.lookup(gvk)
	if err != nil {
		return false, err
	}
	w.mu.Lock()
	w.known[gvk] = has
	w.mu.Unlock()
	return has, nil
}

func (w *Writer) lookup(gvk schema.GroupVersionKind) (bool, error) {
	mapping, err := w.client.RESTMapper().RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return false, err
	}
	list, err := w.discovery.ServerResourcesForGroupVersion(gvk.GroupVersion().String())
	if err != nil {
		return false, fmt.Errorf("discovering %s: %w", gvk.GroupVersion(), err)
	}
	want := mapping.Resource.Resource + "/status"
	for _, r := range list.APIResources {
		if r.Name == want {
			return true, nil
		}
	}
	return false, nil
}

// Forget drops what is known of the resources of group, e.g. after a CRD of it changed. The
// RESTMapper is reset only when the group was one looked up here: at start every CRD of
// the cluster is reported, and a reset per CRD would have the next lookups fetch the
// discovery document again each time.
func (w *Writer) Forget(group string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	knew := false
	for gvk := range w.known {
		if gvk.Group == group {
			delete(w.known, gvk)
			knew = true
		}
	}
	if rm, ok := w.client.RESTMapper().(meta.ResettableRESTMapper); ok && knew {
		rm.Reset()
	}
}

// BumpsGeneration tells whether writing obj's status changes its metadata.generation, as it
// does for a CRD without a status subresource.
func (w *Writer) BumpsGeneration(obj client.Object) (bool, error) {
	has, err := w.HasSubresource(obj)
	return !has, err
}

// Patch applies patch to obj's status: on /status when the resource serves it, else on the
// object itself (the patch must then touch nothing but status). Only the stored object's
// metadata is read back into obj: decoding the whole object, a Component's thousands of
// entries among them, would cost more than the write itself.
func (w *Writer) Patch(ctx context.Context, obj client.Object, patch client.Patch) error {
	has, err := w.HasSubresource(obj)
	if err != nil {
		return err
	}
	gvk, err := apiutil.GVKForObject(obj, w.client.Scheme())
	if err != nil {
		return err
	}
	data, err := patch.Data(obj)
	if err != nil {
		return err
	}
	stored := &metav1.PartialObjectMetadata{}
	stored.SetGroupVersionKind(gvk)
	stored.SetNamespace(obj.GetNamespace())
	stored.SetName(obj.GetName())
	raw := client.RawPatch(patch.Type(), data)
	before := obj.GetResourceVersion()
	if !has {
		if err = w.client.Patch(ctx, stored, raw); err == nil && before != "" && stored.ResourceVersion == before {
			// Once a CRD serves /status the API server drops status changes made through
			// the object, and stores nothing: the CRD gained the subresource since we
			// looked (or our look raced its change).
			w.Forget(gvk.Group)
			return fmt.Errorf("the status of %s %s was not stored through the object: its CRD may serve /status now; looking again",
				gvk.Kind, client.ObjectKeyFromObject(obj))
		}
	} else if err = w.client.Status().Patch(ctx, stored, raw); apierrors.IsNotFound(err) {
		// Either the object is gone or its CRD lost the status subresource since we looked:
		// looking again next time is cheap and covers the second case.
		w.Forget(gvk.Group)
	}
	if err == nil {
		obj.SetResourceVersion(stored.ResourceVersion)
		obj.SetGeneration(stored.Generation)
	}
	return err
}
