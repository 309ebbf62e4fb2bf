package exposedapi

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
)

// Reasons of a write of an extension's objects that the API server refused, or failed on
// its side, and of a new route held back until what guards it is written.
const (
	ReasonWriteRefused         = "WriteRefused"
	ReasonWriteFailed          = "WriteFailed"
	ReasonRouteGuardsUnwritten = "RouteGuardsUnwritten"
)

// extensionTrouble is what a reconcile learned of the extensions' writes that did not land.
type extensionTrouble struct {
	// refused: a write the API server refused; tried again every RefusedRetry.
	refused bool
	// failed is a write that failed on the API server's side; the reconcile returns it, to
	// be retried with backoff.
	failed error
	// guard is the condition type of a RouteGuard whose objects are not written.
	guard string
}

// writeTrouble turns an error of ext that is a write the API server refused, or failed on
// its side, into ext's False condition, so that the API says why rather than nothing; nil
// for any other error, which the reconcile returns.
func (obs *observed) writeTrouble(ext Extension, err error) *metav1.Condition {
	reason, what := "", ""
	switch {
	case err == nil:
		return nil
	case refusedWrite(err):
		reason, what = ReasonWriteRefused, "the API server refused"
		obs.extTrouble.refused = true
	case failedWrite(err):
		reason, what = ReasonWriteFailed, "the API server failed"
		obs.extTrouble.failed = err
	default:
		return nil
	}
	objects := ext.Name() + " objects"
	if _, ok := ext.(RouteGuard); ok {
		obs.extTrouble.guard = ext.ConditionType()
		objects += ", which guard its route,"
	}
	obs.extRefused = append(obs.extRefused, ext.ConditionType())
	c := cond(ext.ConditionType(), false, reason, fmt.Sprintf(
		"%s a write of the API's %s (the operator tries again): %v", what, objects, err))
	return &c
}

// newRoute tells whether the API is about to get its first route object of route's kind:
// none is in place, nor one of another owner that it waits on.
func (r *Reconciler) newRoute(ctx context.Context, route RouteBuilder, api *odav1.ExposedAPI, obs *observed) (bool, error) {
	exists, err := route.Exists(ctx, api)
	if err != nil || exists || WasNotControlled(api, route.Kind()) {
		return false, err
	}
	if !r.guardsNew(api, &obs.spec) {
		return true, nil
	}
	// The cache holds our own routes only: checks written for a name another owner's route
	// holds would act on requests that route takes, which are not ours to check.
	taken, err := route.Taken(ctx, api)
	return err == nil && !taken, err
}

// guardsNew tells whether a RouteGuard would write objects for the route spec asks for.
func (r *Reconciler) guardsNew(api *odav1.ExposedAPI, spec *odav1.ExposedAPISpec) bool {
	for _, ext := range r.Extensions {
		if g, ok := ext.(RouteGuard); ok && g.Guards(api, spec) {
			return true
		}
	}
	return false
}

// guardNewRoute runs the extensions before a new route is made, so that what guards the
// route (token checks) is in place before it first serves: an API that asks for them is
// never reachable without them, for a moment or while they cannot be written. It tells
// whether the route may be made.
func (r *Reconciler) guardNewRoute(ctx context.Context, route RouteBuilder, api *odav1.ExposedAPI, obs *observed) (bool, error) {
	if err := r.runExtensions(ctx, api, obs); err != nil {
		return false, err
	}
	why := "see " + obs.extTrouble.guard
	if obs.extTrouble.guard == "" {
		inTheWay, err := r.unguarded(ctx, api, obs)
		if inTheWay == "" || err != nil {
			return err == nil, err
		}
		why = inTheWay
	}
	obs.route = Route{Programmed: cond(ConditionProgrammed, false, ReasonRouteGuardsUnwritten, fmt.Sprintf(
		"%s %s is not made until the objects that guard it are written, so that it never serves without them: %s",
		route.Kind(), api.Name, why))}
	return false, nil
}

// unguarded names an object of another owner where a RouteGuard's object should be.
func (r *Reconciler) unguarded(ctx context.Context, api *odav1.ExposedAPI, obs *observed) (string, error) {
	for _, ext := range r.Extensions {
		if g, ok := ext.(RouteGuard); ok {
			if what, err := g.Unguarded(ctx, api, &obs.spec); what != "" || err != nil {
				return what, err
			}
		}
	}
	return "", nil
}

// MoveGuard is a RouteGuard whose objects can cover a route on both sides of a change of
// what it takes (its path, its host).
type MoveGuard interface {
	RouteGuard
	// Widen makes the guard's objects cover what the route in place takes as well as what
	// spec asks for, before the route is written. It tells how long they stay widened (0
	// when they are not), for the API to be looked at again then.
	Widen(ctx context.Context, api *odav1.ExposedAPI, spec *odav1.ExposedAPISpec) (time.Duration, error)
}

// guardMove has the MoveGuards cover the route in place and the one spec asks for, before
// the route is written. It tells whether the route may be written: while a guard's objects
// cannot be widened the route stays as it is, so that it never takes requests its checks
// do not cover.
func (r *Reconciler) guardMove(ctx context.Context, route RouteBuilder, api *odav1.ExposedAPI, obs *observed) (bool, error) {
	for _, ext := range r.Extensions {
		g, ok := ext.(MoveGuard)
		if !ok {
			continue
		}
		d, err := g.Widen(ctx, api, &obs.spec)
		if c := obs.writeTrouble(ext, err); c != nil {
			obs.extConds = append(obs.extConds, *c)
			err = nil
		}
		if err != nil {
			return false, fmt.Errorf("%s: %w", ext.Name(), err)
		}
		obs.settle = max(obs.settle, d)
	}
	if obs.extTrouble.guard == "" {
		return true, nil
	}
	var err error
	obs.route, err = route.Status(ctx, api)
	obs.routeHeld = true
	obs.route.Programmed = cond(ConditionProgrammed, false, ReasonRouteGuardsUnwritten, fmt.Sprintf(
		"%s %s is not updated until the objects that guard it cover what it is to take, so that nothing it takes goes unchecked: see %s",
		route.Kind(), api.Name, obs.extTrouble.guard))
	return false, err
}
