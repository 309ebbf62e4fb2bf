package routes

import (
	"context"
	"fmt"

	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
)

// ServedIndexKey is the cache index of the operator's VirtualServices, and of its HTTPRoutes
// (--route-api=HTTPRoute), by the route they serve.
const ServedIndexKey = "oda.route.served"

// ServedKey is the route key a gateway VirtualService serves, or "" for one of another
// shape than the operator makes. A mesh VirtualService serves the routes of several APIs
// (MeshMembers): the claims there are the specs' alone.
func ServedKey(vs *networkingv1.VirtualService) string {
	s := &vs.Spec
	if len(s.Gateways) != 1 || len(s.Hosts) != 1 || len(s.Http) != 1 || len(s.Http[0].Match) != 1 || MeshHost(vs) != "" {
		return ""
	}
	prefix := s.Http[0].Match[0].GetUri().GetPrefix()
	if prefix == "" {
		return ""
	}
	return key(s.Gateways[0], s.Hosts[0], prefix)
}

// Served lists the operator's route objects of a kind other than VirtualService that serve
// route key (the Gateway API HTTPRoutes of --route-api=HTTPRoute); none while that kind is
// not served.
type Served func(ctx context.Context, key string) ([]client.Object, error)

// Claimants are the ExposedAPIs that claim route key: those whose valid spec asks for it
// (index IndexKey), and those whose route object serves it (index ServedIndexKey, on
// VirtualServices and on what more lists), whatever their spec asks for now. An API whose
// spec became invalid keeps its last route, so the route it serves stays its claim, and a
// spec that cannot route claims nothing.
//
// The APIs share their labels, spec and status with the cache's objects: read them, never
// change them. Every event of an ExposedAPI or a VirtualService asks for claimants: deep
// copies of what is only read were a tenth of the bytes a full resync allocated, and 4%
// of the operator's CPU while 5000 APIs converged.
func Claimants(ctx context.Context, r client.Reader, key string, more ...Served) ([]odav1.ExposedAPI, error) {
	var declared odav1.ExposedAPIList
	if err := r.List(ctx, &declared, client.MatchingFields{IndexKey: key}, client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("listing the ExposedAPIs that ask for route %s: %w", key, err)
	}
	served, err := servedBy(ctx, r, key, more)
	if err != nil {
		return nil, err
	}
	out := declared.Items
	for _, obj := range served {
		ref := metav1.GetControllerOf(obj)
		if ref == nil || ref.APIVersion != odav1.GroupVersion.String() || ref.Kind != "ExposedAPI" || hasUID(out, ref.UID) {
			continue
		}
		api := &odav1.ExposedAPI{}
		err := r.Get(ctx, client.ObjectKey{Namespace: obj.GetNamespace(), Name: ref.Name}, api)
		switch {
		case apierrors.IsNotFound(err):
			continue // its route goes by garbage collection
		case err != nil:
			return nil, err
		case api.UID == ref.UID:
			out = append(out, *api)
		}
	}
	return out, nil
}

// servedBy are the route objects of every kind that serve route key.
func servedBy(ctx context.Context, r client.Reader, key string, more []Served) ([]client.Object, error) {
	var vss networkingv1.VirtualServiceList
	if err := r.List(ctx, &vss, client.MatchingFields{ServedIndexKey: key}, client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("listing the VirtualServices that serve route %s: %w", key, err)
	}
	out := make([]client.Object, 0, len(vss.Items))
	for _, vs := range vss.Items {
		out = append(out, vs)
	}
	for _, list := range more {
		objs, err := list(ctx, key)
		if err != nil {
			return nil, err
		}
		out = append(out, objs...)
	}
	return out, nil
}

func hasUID(apis []odav1.ExposedAPI, uid types.UID) bool {
	for i := range apis {
		if apis[i].UID == uid {
			return true
		}
	}
	return false
}
