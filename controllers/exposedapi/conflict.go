package exposedapi

import (
	"context"

	"sigs.k8s.io/controller-runtime/pkg/client"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/internal/routes"
)

// routeOwner returns the other ExposedAPI, in any watched namespace, that owns the route spec
// asks for, or nil when api owns it. Every reconcile picks the same owner whatever its order.
func (r *Reconciler) routeOwner(ctx context.Context, api *odav1.ExposedAPI, spec *odav1.ExposedAPISpec) (*odav1.ExposedAPI, error) {
	var claimants odav1.ExposedAPIList
	if err := r.Client.List(ctx, &claimants, client.MatchingFields{routes.IndexKey: r.Routes.Key(spec)}); err != nil {
		return nil, err
	}
	winner := routes.Winner(claimants.Items)
	if winner == nil || winner.UID == api.UID {
		return nil, nil
	}
	return winner.DeepCopy(), nil
}

// routeKeys is the index function: the route an API claims, if its spec is valid enough to
// claim one.
func (r *Reconciler) routeKeys(o client.Object) []string {
	api, ok := o.(*odav1.ExposedAPI)
	if !ok {
		return nil
	}
	spec := normalised(&api.Spec)
	if spec.Path == "" {
		return nil
	}
	return []string{r.Routes.Key(&spec)}
}
