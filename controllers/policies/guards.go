package policies

import (
	"context"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/controllers/exposedapi"
	"github.com/oda-canvas/api-operator-istio/internal/policy"
)

// The token checks guard an API's route (exposedapi.RouteGuard): a new route is made only
// once they are in force, and a route that moves is covered by them on both sides (move.go).

// GuardsRoute: the API's token checks (and rate limit) are on the gateway.
func (e *Extension) GuardsRoute(api *odav1.ExposedAPI) bool {
	return controllerutil.ContainsFinalizer(api, Finalizer)
}

// Unguarded names an object of another owner that holds the name of the API's token checks
// where they go, which are then not in force.
func (e *Extension) Unguarded(ctx context.Context, api *odav1.ExposedAPI, spec *odav1.ExposedAPISpec) (string, error) {
	if !e.Guards(api, spec) || !policy.KeyVerification(spec) || !e.Settings.Auth.Enabled() {
		return "", nil
	}
	places, f, err := e.places(ctx, api)
	if err != nil || f != nil {
		return "", err
	}
	for _, at := range places {
		meta := metav1.ObjectMeta{Namespace: at.Namespace, Name: gatewayName(api)}
		for _, obj := range e.tokenChecks(api, spec, at, &meta).objs {
			err := e.APIReader.Get(ctx, client.ObjectKeyFromObject(obj), obj)
			switch {
			case apierrors.IsNotFound(err):
			case err != nil:
				return "", err
			case !names(obj, api):
				return exposedapi.InTheWay(kindOf(obj), obj.GetNamespace(), obj.GetName()), nil
			}
		}
	}
	return "", nil
}

// Guards: spec asks for token checks or a rate limit on the gateway.
func (e *Extension) Guards(api *odav1.ExposedAPI, spec *odav1.ExposedAPISpec) bool {
	return !e.Routes.Route(api.Namespace, spec).Internal && e.wantsGatewayObjects(spec)
}
