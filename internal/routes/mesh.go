package routes

import (
	"context"
	"fmt"
	"slices"

	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/api/v1/validation"
)

// MeshIndexKey is the cache index of ExposedAPIs by the mesh host they are routed on: the
// cluster name of their implementation Service, for a valid spec of an internal segment.
const MeshIndexKey = "oda.route.mesh"

// MeshMembers are the internal APIs that share the mesh VirtualService of host, oldest first
// (Less): those indexed under MeshIndexKey, not being deleted, and of those asking for one
// path only its owner (the first, as Winner picks). Istio does not merge mesh
// VirtualServices of one host, so the first member's VirtualService routes them all.
func MeshMembers(ctx context.Context, r client.Reader, host string) ([]odav1.ExposedAPI, error) {
	var list odav1.ExposedAPIList
	if err := r.List(ctx, &list, client.MatchingFields{MeshIndexKey: host}); err != nil {
		return nil, fmt.Errorf("listing the internal ExposedAPIs of %s: %w", host, err)
	}
	return meshMembers(list.Items), nil
}

func meshMembers(apis []odav1.ExposedAPI) []odav1.ExposedAPI {
	apis = slices.DeleteFunc(apis, func(a odav1.ExposedAPI) bool { return a.DeletionTimestamp != nil })
	slices.SortFunc(apis, func(a, b odav1.ExposedAPI) int {
		switch {
		case Less(&a, &b):
			return -1
		case Less(&b, &a):
			return 1
		}
		return 0
	})
	var out []odav1.ExposedAPI
	paths := map[string]bool{}
	for _, a := range apis {
		if path := validation.NormalizePath(a.Spec.Path); !paths[path] {
			paths[path] = true
			out = append(out, a)
		}
	}
	return out
}

// MeshHost is the host of a mesh VirtualService, or "" for a VirtualService of another shape.
func MeshHost(vs *networkingv1.VirtualService) string {
	if s := &vs.Spec; len(s.Gateways) == 1 && s.Gateways[0] == MeshGateway && len(s.Hosts) == 1 {
		return s.Hosts[0]
	}
	return ""
}
