package policies

import (
	"context"

	networkingv1alpha3 "istio.io/client-go/pkg/apis/networking/v1alpha3"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/controllers/exposedapi"
)

// The token checks guard an API's route (exposedapi.RouteGuard): a new route is made only
// once they are in force, and a route that moves is covered by them on both sides (move.go).

// Unguarded names an object of another owner that holds the name of one of the API's
// objects on the gateway (token checks, rate limit), which are then not in force.
func (e *Extension) Unguarded(ctx context.Context, api *odav1.ExposedAPI, spec *odav1.ExposedAPISpec) (string, error) {
	if !e.Guards(api, spec) {
		return "", nil
	}
	places, f, err := e.places(ctx, api)
	if err != nil || f != nil {
		return "", err
	}
	for _, at := range places {
		for _, obj := range e.guardKeys(api, spec, at) {
			err := e.APIReader.Get(ctx, client.ObjectKeyFromObject(obj), obj)
			switch {
			case apierrors.IsNotFound(err):
			case err != nil:
				return "", err
			case !holds(obj, api):
				return exposedapi.InTheWay(kindOf(obj), obj.GetNamespace(), obj.GetName()), nil
			}
		}
	}
	return "", nil
}

// guardKeys are empty objects under the names of the API's objects on the gateway at one
// place, the shared rate limit filter among them: the API's limit needs it.
func (e *Extension) guardKeys(api *odav1.ExposedAPI, spec *odav1.ExposedAPISpec, at place) []client.Object {
	meta := metav1.ObjectMeta{Namespace: at.Namespace, Name: gatewayName(api)}
	objs := e.tokenChecks(api, spec, at, &meta).objs
	if e.Settings.RateLimit.Local(spec) {
		shared := metav1.ObjectMeta{Namespace: at.Namespace, Name: SharedFilterName}
		objs = append(objs, &networkingv1alpha3.EnvoyFilter{ObjectMeta: meta}, &networkingv1alpha3.EnvoyFilter{ObjectMeta: shared})
	}
	return objs
}

// holds tells whether obj, under one of the names guardKeys gives, is the operator's for
// api.
func holds(obj client.Object, api *odav1.ExposedAPI) bool {
	if obj.GetName() == SharedFilterName {
		return sharedFilterOurs(obj)
	}
	return names(obj, api)
}

// Guards: spec asks for token checks or a rate limit on the gateway.
func (e *Extension) Guards(api *odav1.ExposedAPI, spec *odav1.ExposedAPISpec) bool {
	return !e.Routes.Route(api.Namespace, spec).Internal && e.wantsGatewayObjects(spec)
}
