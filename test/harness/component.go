package harness

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
)

// Entry is a Component status entry as the component operator writes it.
type Entry map[string]any

// PatchComponentStatus merge-patches a Component's status as another operator would:
// through /status where the CRD has it, else through the object.
func (e *Env) PatchComponentStatus(t testing.TB, comp *odav1.Component, status map[string]any) {
	t.Helper()
	if err := e.TryPatchComponentStatus(comp, status); err != nil {
		t.Fatal(err)
	}
}

// TryPatchComponentStatus is PatchComponentStatus returning its error, for a writer on
// another goroutine (where t.Fatal would stop that goroutine instead of the test).
func (e *Env) TryPatchComponentStatus(comp *odav1.Component, status map[string]any) error {
	raw, err := json.Marshal(map[string]any{"status": status})
	if err != nil {
		return err
	}
	patch := client.RawPatch(types.MergePatchType, raw)
	obj := comp.DeepCopy()
	if e.Set == Generated {
		err = e.Client.Status().Patch(context.Background(), obj, patch)
	} else {
		err = e.Client.Patch(context.Background(), obj, patch)
	}
	if err != nil {
		return fmt.Errorf("patching the status of Component %s: %w", comp.Name, err)
	}
	return nil
}

// ComponentStatus reads a Component's status as raw JSON fields.
func (e *Env) ComponentStatus(t testing.TB, ns, name string) map[string]any {
	t.Helper()
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(odav1.GroupVersion.WithKind("Component"))
	if err := e.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, u); err != nil {
		t.Fatal(err)
	}
	s, _ := u.Object["status"].(map[string]any)
	return s
}
