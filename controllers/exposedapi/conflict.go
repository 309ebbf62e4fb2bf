package exposedapi

import (
	"context"

	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/client"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/api/v1/validation"
	"github.com/oda-canvas/api-operator-istio/internal/routes"
)

// routeOwner returns the other ExposedAPI, in any watched namespace, that owns the route
// key, or nil when api owns it. Every reconcile picks the same owner whatever its order.
func (r *Reconciler) routeOwner(ctx context.Context, api *odav1.ExposedAPI, key string) (*odav1.ExposedAPI, error) {
	claimants, err := r.claimants(ctx, key)
	if err != nil {
		return nil, err
	}
	winner := routes.Winner(claimants)
	if winner == nil || winner.UID == api.UID {
		return nil, nil
	}
	return winner.DeepCopy(), nil
}

// claimants are the APIs that claim route key, counting the routes of every kind.
func (r *Reconciler) claimants(ctx context.Context, key string) ([]odav1.ExposedAPI, error) {
	return routes.Claimants(ctx, r.Client, key, r.Served...)
}

// claimedRoute is the route key an API claims: the one its spec asks for when that is valid,
// else the one the route it keeps still serves (its VirtualService, else the route of
// another route API as its RouteBuilder reports it), else none.
func (r *Reconciler) claimedRoute(ctx context.Context, api *odav1.ExposedAPI, obs *observed) (string, error) {
	if len(obs.invalid) == 0 {
		return obs.claim.Key(), nil
	}
	if obs.vs != nil && !obs.foreign && routes.ServedKey(obs.vs) != "" {
		return routes.ServedKey(obs.vs), nil
	}
	if r.Route == nil {
		return "", nil
	}
	kept, err := r.Route.Status(ctx, api)
	return kept.Serves, err
}

// routeKeys is the index function of routes.IndexKey: the route an API's spec asks for,
// if the spec is valid, so that only claims that can route are found there.
func (r *Reconciler) routeKeys(o client.Object) []string {
	if route, ok := r.validRoute(o); ok {
		return []string{route.Key()}
	}
	return nil
}

// meshHosts is the index function of routes.MeshIndexKey: the mesh host of a valid internal
// API.
func (r *Reconciler) meshHosts(o client.Object) []string {
	if route, ok := r.validRoute(o); ok && route.Internal {
		return []string{route.Host}
	}
	return nil
}

// validRoute is the route an ExposedAPI's spec asks for, if the spec is valid.
func (r *Reconciler) validRoute(o client.Object) (routes.Route, bool) {
	api, ok := o.(*odav1.ExposedAPI)
	if !ok {
		return routes.Route{}, false
	}
	spec := normalised(&api.Spec)
	if len(validation.ValidateSpec(&spec, field.NewPath("spec"))) > 0 {
		return routes.Route{}, false
	}
	return r.Routes.Route(api.Namespace, &spec), true
}

// vsMeshHosts is the host of a mesh VirtualService, as a list.
func vsMeshHosts(o client.Object) []string {
	if vs, ok := o.(*networkingv1.VirtualService); ok && routes.MeshHost(vs) != "" {
		return []string{routes.MeshHost(vs)}
	}
	return nil
}

// servedKeys is the index function of routes.ServedIndexKey.
func servedKeys(o client.Object) []string {
	vs, ok := o.(*networkingv1.VirtualService)
	if !ok {
		return nil
	}
	if key := routes.ServedKey(vs); key != "" {
		return []string{key}
	}
	return nil
}
