package exposedapi

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"google.golang.org/protobuf/proto"
	istioapi "istio.io/api/networking/v1alpha3"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/internal/policy"
	"github.com/oda-canvas/api-operator-istio/internal/routes"
)

// meshRoute is the mesh VirtualService an accepted internal API shares with the other
// internal APIs of its Service: Istio uses one mesh VirtualService per host and ignores the
// others (istio.io IST0109, ConflictingMeshGatewayVirtualServiceHosts).
type meshRoute struct {
	// members are the APIs it routes, oldest first (routes.MeshMembers); the first leads:
	// the VirtualService is its own, named after it.
	members []odav1.ExposedAPI
}

func (m *meshRoute) leader() *odav1.ExposedAPI { return &m.members[0] }

func (m *meshRoute) ledBy(api *odav1.ExposedAPI) bool { return m.leader().UID == api.UID }

// observeMesh finds, for an accepted internal API, the members of its Service's mesh route;
// for a follower, obs.vs becomes the leader's VirtualService once it routes the API, and its
// own VirtualService (a gateway route it had, or a mesh route it led) goes. An API that is not
// accepted, or no longer internal, drops the mesh VirtualService it led at once, so that the
// next member's takes over and is never beside it (Istio would use one of the two), and so
// that a route to the gateway is made anew, after what guards it (guardNewRoute). The
// Service stays reachable on the mesh meanwhile, as without any mesh VirtualService.
func (r *Reconciler) observeMesh(ctx context.Context, api *odav1.ExposedAPI, obs *observed) error {
	own := obs.vs != nil && !obs.foreign
	if !obs.accepted() || !obs.claim.Internal {
		if own && routes.MeshHost(obs.vs) != "" {
			obs.stale, obs.vs = obs.vs, nil
		}
		return nil
	}
	members, err := routes.MeshMembers(ctx, r.Client, obs.claim.Host)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(members, func(m odav1.ExposedAPI) bool { return m.UID == api.UID }) {
		return fmt.Errorf("ExposedAPI %s is not yet indexed under mesh host %s", api.Name, obs.claim.Host)
	}
	obs.mesh = &meshRoute{members: members}
	if obs.mesh.ledBy(api) {
		return nil
	}
	if obs.vs == nil && neverReconciled(api) {
		// The gateway VirtualService the Python operator made for it has none of our labels,
		// so the cache cannot show it; a leader's is adopted when its create meets it.
		if err := r.uncachedVirtualService(ctx, api, obs); err != nil {
			return err
		}
		own = obs.vs != nil && !obs.foreign
	}
	if own {
		obs.stale = obs.vs
	}
	obs.vs, obs.foreign = nil, false
	leader := obs.mesh.leader()
	vs, err := virtualService(ctx, r.Client, leader)
	if err == nil && vs != nil && ownedBy(vs, leader.UID) && routesAPI(vs, api, &obs.spec) {
		obs.vs = vs
	}
	return err
}

// neverReconciled tells whether the API has no status of this operator's yet: one that
// comes from the Python operator has only its apiStatus.
func neverReconciled(api *odav1.ExposedAPI) bool {
	return meta.FindStatusCondition(api.Status.Conditions, ConditionAccepted) == nil
}

// dropStale deletes the API's own VirtualService that observeMesh found it must not keep.
func (r *Reconciler) dropStale(ctx context.Context, api *odav1.ExposedAPI, obs *observed) error {
	if obs.stale == nil {
		return nil
	}
	deleted, err := r.withdrawRoute(ctx, api, obs.stale)
	if deleted {
		why := "not accepted"
		switch {
		case obs.mesh != nil:
			why = "VirtualService " + obs.mesh.leader().Name + " routes the internal APIs of Service " + obs.spec.Implementation
		case obs.accepted():
			why = "the API left the internal segments; the next internal API of Service " + obs.spec.Implementation + " routes them on the mesh"
		}
		logf.FromContext(ctx).Info("VirtualService deleted: "+why, "virtualService", obs.stale.Name)
	}
	return err
}

// meshVirtualServiceSpec is the mesh route of Service impl (cluster name host): one route
// per member, longest path first, each matching its path prefix on its port and sent to that
// port; then a fall-through with no match to the Service with no port, so that every other
// path and port of the Service is routed as without this VirtualService. Istio's sidecar
// builds a VirtualService's routes per listener port, keeps only the routes whose match port
// is that port (or unset), and sends a destination without a port to the listener's port, or
// to the Service's only port: istio/istio pilot/pkg/networking/core/route/route.go,
// TranslateRoute ("Match by the destination port specified in the match condition") and
// GetDestinationCluster ("port := listenerPort ... if service only has one port defined, use
// that as the port, otherwise use default listenerPort").
func meshVirtualServiceSpec(host, impl string, members []odav1.ExposedAPI) *istioapi.VirtualService {
	vs := &istioapi.VirtualService{Hosts: []string{host}, Gateways: []string{routes.MeshGateway}}
	for i := range members {
		spec := normalised(&members[i].Spec)
		vs.Http = append(vs.Http, meshHTTPRoute(members[i].Name, &spec))
	}
	slices.SortFunc(vs.Http, func(a, b *istioapi.HTTPRoute) int {
		pa, pb := a.Match[0].GetUri().GetPrefix(), b.Match[0].GetUri().GetPrefix()
		return cmp.Or(cmp.Compare(len(pb), len(pa)), cmp.Compare(pa, pb))
	})
	vs.Http = append(vs.Http, &istioapi.HTTPRoute{
		Route: []*istioapi.HTTPRouteDestination{{Destination: &istioapi.Destination{Host: impl}}},
	})
	return vs
}

// meshHTTPRoute is one internal API's route, named after it for Istio's access logs, with
// the stream settings of a long-lived API.
func meshHTTPRoute(name string, spec *odav1.ExposedAPISpec) *istioapi.HTTPRoute {
	port := uint32(spec.Port)
	route := &istioapi.HTTPRoute{
		Name: name,
		Match: []*istioapi.HTTPMatchRequest{{
			Uri:  &istioapi.StringMatch{MatchType: &istioapi.StringMatch_Prefix{Prefix: spec.Path}},
			Port: port,
		}},
		Route: []*istioapi.HTTPRouteDestination{{
			Destination: &istioapi.Destination{Host: spec.Implementation, Port: &istioapi.PortSelector{Number: port}},
		}},
	}
	policy.ApplyToMeshRoute(route, spec)
	return route
}

// routesAPI tells whether a mesh VirtualService holds the API's route as it is now.
func routesAPI(vs *networkingv1.VirtualService, api *odav1.ExposedAPI, spec *odav1.ExposedAPISpec) bool {
	want := meshHTTPRoute(api.Name, spec)
	return slices.ContainsFunc(vs.Spec.Http, func(h *istioapi.HTTPRoute) bool { return proto.Equal(h, want) })
}

// meshProgrammed names the VirtualService that routes an internal API, the one of the oldest
// internal API of its Service. It does not count the others: each API added to a Service
// would otherwise rewrite the status of all.
func meshProgrammed(obs *observed) metav1.Condition {
	leader := obs.mesh.leader().Name
	if obs.vs == nil {
		return cond(ConditionProgrammed, false, ReasonMeshRoutePending, fmt.Sprintf(
			"VirtualService %s, of the oldest internal API of Service %s, does not route it yet", leader, obs.spec.Implementation))
	}
	return cond(ConditionProgrammed, true, ReasonProgrammed, fmt.Sprintf(
		"VirtualService %s routes it on the mesh, with the other internal APIs of Service %s",
		obs.vs.Name, obs.spec.Implementation))
}
