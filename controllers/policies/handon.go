package policies

import (
	"context"
	"reflect"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
)

// The API's objects on the gateway are read past the cache: no watch of them is granted
// (and the chart grants no list), so no informer can hold them. In one reconcile Widen reads the
// AuthorizationPolicy and the rate limit's EnvoyFilter before the route is written, and
// Ensure looks at them again after it: what Widen found (or wrote) is handed on to Ensure
// of the same reconcile rather than read twice. A reconcile that finds nothing to do then
// reads each object once, which every API pays on a wake-up of all of them.

// handedOn is what Widen found of the API's objects on the gateway in one reconcile.
type handedOn struct {
	reconcile types.UID
	objs      map[handedKey]client.Object
}

type handedKey struct {
	kind reflect.Type
	key  client.ObjectKey
}

func handedKeyOf(obj client.Object) handedKey {
	return handedKey{kind: reflect.TypeOf(obj), key: client.ObjectKeyFromObject(obj)}
}

// startHandOn is where Widen keeps what it reads for Ensure: nil outside a reconcile (no
// reconcile ID to tell a later one's from), when nothing is handed on.
func (e *Extension) startHandOn(ctx context.Context, api *odav1.ExposedAPI) *handedOn {
	id := controller.ReconcileIDFromContext(ctx)
	if id == "" {
		e.handed.Delete(api.UID)
		return nil
	}
	h := &handedOn{reconcile: id, objs: map[handedKey]client.Object{}}
	e.handed.Store(api.UID, h)
	return h
}

// keep hands obj, as stored, on to Ensure.
func (h *handedOn) keep(obj client.Object) {
	if h != nil {
		h.objs[handedKeyOf(obj)] = obj.DeepCopyObject().(client.Object)
	}
}

// takeHandedOn is what Widen handed on in this reconcile, taken so that no later one uses
// it: nil when Widen read nothing in this reconcile.
func (e *Extension) takeHandedOn(ctx context.Context, api *odav1.ExposedAPI) *handedOn {
	v, ok := e.handed.LoadAndDelete(api.UID)
	if !ok {
		return nil
	}
	h := v.(*handedOn)
	if id := controller.ReconcileIDFromContext(ctx); id == "" || id != h.reconcile {
		return nil
	}
	return h
}

type handedOnKey struct{}

func withHandedOn(ctx context.Context, h *handedOn) context.Context {
	if h == nil {
		return ctx
	}
	return context.WithValue(ctx, handedOnKey{}, h)
}

// readGatewayObject is the stored object under want's kind and key: the one Widen handed
// on in this reconcile, else read from the API server. Only found objects are handed on,
// so one that is gone is looked for again.
func (e *Extension) readGatewayObject(ctx context.Context, want client.Object) (client.Object, error) {
	if h, ok := ctx.Value(handedOnKey{}).(*handedOn); ok {
		if obj, ok := h.objs[handedKeyOf(want)]; ok {
			delete(h.objs, handedKeyOf(want))
			return obj, nil
		}
	}
	stored := want.DeepCopyObject().(client.Object)
	return stored, e.APIReader.Get(ctx, client.ObjectKeyFromObject(want), stored)
}
