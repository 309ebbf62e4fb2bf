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

// ServedIndexKey is the cache index of the operator's VirtualServices by the route they
// serve.
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

// Claimants are the ExposedAPIs that claim route key: those whose valid spec asks for it
// (index IndexKey), and those whose VirtualService serves it (index ServedIndexKey),
// whatever their spec asks for now. An API whose spec became invalid keeps its last
// VirtualService, so the route it serves stays its claim, and a spec that cannot route
// claims nothing.
func Claimants(ctx context.Context, r client.Reader, key string) ([]odav1.ExposedAPI, error) {
	var declared odav1.ExposedAPIList
	if err := r.List(ctx, &declared, client.MatchingFields{IndexKey: key}); err != nil {
		return nil, fmt.Errorf("listing the ExposedAPIs that ask for route %s: %w", key, err)
	}
	var served networkingv1.VirtualServiceList
	if err := r.List(ctx, &served, client.MatchingFields{ServedIndexKey: key}); err != nil {
		return nil, fmt.Errorf("listing the VirtualServices that serve route %s: %w", key, err)
	}
	out := declared.Items
	for _, vs := range served.Items {
		ref := metav1.GetControllerOf(vs)
		if ref == nil || ref.APIVersion != odav1.GroupVersion.String() || ref.Kind != "ExposedAPI" || hasUID(out, ref.UID) {
			continue
		}
		api := &odav1.ExposedAPI{}
		err := r.Get(ctx, client.ObjectKey{Namespace: vs.Namespace, Name: ref.Name}, api)
		switch {
		case apierrors.IsNotFound(err):
			continue // its VirtualService goes by garbage collection
		case err != nil:
			return nil, err
		case api.UID == ref.UID:
			out = append(out, *api)
		}
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
