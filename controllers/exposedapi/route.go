package exposedapi

import (
	"context"
	"fmt"
	"maps"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
)

// RouteBuilder makes an API's route in one routing API: Istio VirtualServices (the
// default, in this package) or another chosen by settings (--route-api).
type RouteBuilder interface {
	// Kind names the route object in logs and events.
	Kind() string
	// Ensure makes or updates the route an accepted spec asks for.
	Ensure(ctx context.Context, api *odav1.ExposedAPI, spec *odav1.ExposedAPISpec) (Route, error)
	// Withdraw deletes the API's own route, if it has one, and tells whether it did.
	Withdraw(ctx context.Context, api *odav1.ExposedAPI) (bool, error)
	// Status reports the route the API has, writing nothing: an API whose spec became
	// invalid keeps its last route.
	Status(ctx context.Context, api *odav1.ExposedAPI) (Route, error)
	// Exists tells whether the cache shows an object of the kind under the API's name, its
	// own or another owner's, without judging it.
	Exists(ctx context.Context, api *odav1.ExposedAPI) (bool, error)
	// Taken tells the same from the API server, which also holds the objects of other
	// owners that the cache leaves out.
	Taken(ctx context.Context, api *odav1.ExposedAPI) (bool, error)
	// Orphaned tells from the API server whether the API's route object of the kind was
	// orphaned by the garbage collector (OrphanedRoute), for an API being deleted.
	Orphaned(ctx context.Context, api *odav1.ExposedAPI) (bool, error)
}

// Route is an API's route as its RouteBuilder found or left it.
type Route struct {
	// UID is the route object's, when the API has its own; empty otherwise.
	UID types.UID
	// Programmed is the Programmed condition; left empty when the API has no route.
	Programmed metav1.Condition
	// Address is where the gateway is reached (IP or host name), empty while it has none,
	// NoAddress then saying why. PortSuffix is ":<port>" for a non-standard HTTP port.
	Address, PortSuffix, NoAddress string
	// Refused is set with a False Programmed condition that a person has to act on (a route
	// object of another owner, a kind not installed, a gateway's refusal), not a wait: it is
	// recorded as a Warning Event when the condition turns to it.
	Refused bool
	// Absent: no route object of the API's own is in place (another owner's holds its
	// name, or the route kind is not installed), so the status must not describe one.
	Absent bool
	// Serves is the route key (routes.Route.Key) the route object serves, when its builder
	// tells: an API whose spec became invalid keeps its route, and claims what it serves.
	Serves string
}

// routeBuilders are the builder of the API's route and those of the routes it must not
// keep. An internal API is routed by its Service's mesh VirtualService whatever the route
// API: Gateway API routes are for the component Gateway.
func (r *Reconciler) routeBuilders(obs *observed) (RouteBuilder, []RouteBuilder) {
	vs := virtualServices{r: r, obs: obs}
	switch {
	case r.Route == nil:
		return vs, r.FormerRoutes
	case obs.claim.Internal:
		return vs, []RouteBuilder{r.Route}
	}
	return r.Route, []RouteBuilder{vs}
}

// ChildLabels are the labels of every route an API gets; the caches hold only what they
// select.
func ChildLabels(api *odav1.ExposedAPI) map[string]string { return childLabels(api) }

// AddChildLabels sets the labels of api's children on obj, keeping the others it has.
func AddChildLabels(obj metav1.Object, api *odav1.ExposedAPI) {
	l := obj.GetLabels()
	if l == nil {
		l = map[string]string{}
	}
	maps.Copy(l, childLabels(api))
	obj.SetLabels(l)
}

// LabelsMatch tells whether have holds every label of want.
func LabelsMatch(have, want map[string]string) bool { return labelsMatch(have, want) }

// OwnedBy tells whether the object with uid is obj's controller.
func OwnedBy(obj metav1.Object, uid types.UID) bool { return ownedBy(obj, uid) }

// APIs lists the ExposedAPIs the options select, as requests: for the watches of a
// RouteBuilder's kinds.
func (r *Reconciler) APIs(ctx context.Context, opts ...client.ListOption) []reconcile.Request {
	return r.requests(ctx, opts...)
}

// ReasonRouteRefused: the API server refused the route object as the spec asks for it.
const ReasonRouteRefused = "RouteRefused"

// refusedWrite tells a write the API server refused as it stands (the object is invalid for
// the kind's schema, an admission webhook or policy denied it, a quota or RBAC forbids it),
// which a person has to act on, from a failure that retrying fixes.
func refusedWrite(err error) bool {
	return apierrors.IsInvalid(err) || apierrors.IsBadRequest(err) || apierrors.IsForbidden(err)
}

// ReasonRouteWriteFailed: the route write failed on the API server's side (a webhook of the
// mesh that cannot be called, an internal error), not by a refusal of the object.
const ReasonRouteWriteFailed = "RouteWriteFailed"

// failedWrite tells a write the API server answered with a failure of its own, which
// retrying may fix but which can last (istiod's webhook down under failurePolicy Fail).
func failedWrite(err error) bool {
	return apierrors.IsInternalError(err) || apierrors.IsServiceUnavailable(err) || apierrors.IsUnexpectedServerError(err)
}

// failedRoute reports a route write that failed; like a refused one, it leaves a route
// written before as it was.
func failedRoute(kind, name string, err error) Route {
	return Route{Programmed: cond(ConditionProgrammed, false, ReasonRouteWriteFailed, fmt.Sprintf(
		"writing %s %s failed (the operator tries again, waiting up to a minute between tries); the route written before, if any, is unchanged: %v", kind, name, err))}
}

// refusedRoute reports a refused route write. A route written before stays as it was: the
// status keeps its URL while the gateway still serves it.
func refusedRoute(kind, name string, retry time.Duration, err error) Route {
	return Route{Refused: true, Programmed: cond(ConditionProgrammed, false, ReasonRouteRefused, fmt.Sprintf(
		"the API server refused %s %s as this spec asks for it (the operator tries again every %s); the route written before, if any, is unchanged: %v", kind, name, retry, err))}
}
