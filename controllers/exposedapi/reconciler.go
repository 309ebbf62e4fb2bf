// Package exposedapi turns each ExposedAPI into a route, and keeps the ExposedAPI's status
// true: an Istio VirtualService on the component gateway, or another RouteBuilder's route
// (--route-api); for an internal segment, in either case, a route in its Service's mesh
// VirtualService.
package exposedapi

import (
	"cmp"
	"context"
	"fmt"
	"time"

	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8svalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/api/v1/validation"
	"github.com/oda-canvas/api-operator-istio/controllers/statuswrite"
	"github.com/oda-canvas/api-operator-istio/internal/policy"
	"github.com/oda-canvas/api-operator-istio/internal/routes"
)

// Creator creates an object and sets the metadata the API server gave it.
type Creator interface {
	Create(ctx context.Context, obj client.Object) error
}

// Reconciler reconciles ExposedAPIs.
type Reconciler struct {
	// Client reads from the manager's cache and writes to the API server.
	Client client.Client
	// Creator creates the VirtualServices, reading back only their metadata.
	Creator Creator
	// APIReader reads the API server directly: the cache holds only the VirtualServices this
	// operator labelled, so a name collision is looked at here.
	APIReader client.Reader
	// Gateways reads the Istio ingress gateway Services (a cache of only those).
	Gateways client.Reader
	// Routes holds the component gateway, public host name and internal segments.
	Routes routes.Settings
	// Policies are the operator-wide settings of the API policies.
	Policies policy.Settings
	// PublicHostname replaces the ingress address in URLs when set.
	PublicHostname string
	Status         *statuswrite.Writer
	Events         recorder.EventRecorder
	// Route builds the routes of the APIs not kept inside the mesh when --route-api is not
	// VirtualService; nil means VirtualServices.
	Route RouteBuilder
	// Served lists Route's objects by the route they serve: the claims of the APIs that keep
	// their route (routes.Claimants). VirtualServices are listed without it.
	Served []routes.Served
	// FormerRoutes remove the routes of the route APIs not in use, once the API's route is in
	// place; with Route set, the VirtualServices of the APIs not kept inside the mesh are
	// removed.
	FormerRoutes []RouteBuilder
	// Extensions make further children (metrics scraping, token checks) for an accepted API.
	Extensions []Extension
	// RefusedRetry is how long a reconcile whose route the API server refused, or that a
	// child of another owner holds up, waits to try again; 0 means a minute.
	RefusedRetry time.Duration
	// Controller is set by SetupWithManager, for watches that can only start later (a kind
	// whose CRD arrives after the operator).
	Controller controller.Controller

	writes ownWrites
}

// Extension makes children beyond the route for an accepted API. Its condition, when not
// nil, is added to the API's status, and a False one keeps the API from being Ready.
type Extension interface {
	Name() string
	// ConditionType is the condition Ensure reports; it is removed when Ensure returns nil.
	ConditionType() string
	Ensure(ctx context.Context, api *odav1.ExposedAPI, spec *odav1.ExposedAPISpec) (*metav1.Condition, error)
	// Withdraw undoes what Ensure made while the API is not accepted; reason is the
	// Accepted condition's. Its condition is reported as Ensure's is.
	Withdraw(ctx context.Context, api *odav1.ExposedAPI, spec *odav1.ExposedAPISpec, reason string) (*metav1.Condition, error)
	// Finalize undoes what cannot be garbage collected, when the API is being deleted.
	// orphaned: the API's children are left in place (kubectl delete --cascade=orphan),
	// its route among them, which keeps serving.
	Finalize(ctx context.Context, api *odav1.ExposedAPI, orphaned bool) error
}

// Refuser is an Extension whose False conditions may be refusals: a person has to act
// (fix the spec, remove an object in the way, install a kind) rather than wait. Refuses
// tells which; each is recorded as a Warning Event when the condition turns to it.
type Refuser interface {
	Refuses(c *metav1.Condition) bool
}

// observed is what a reconcile learned about an API and its surroundings.
type observed struct {
	spec    odav1.ExposedAPISpec // normalised
	claim   routes.Route         // the route the spec asks for: on the component gateway or the mesh
	invalid field.ErrorList
	owner   *odav1.ExposedAPI // the other API that owns this route, if any
	// vs routes the API: its own VirtualService, or for an internal API that does not lead
	// its Service's mesh route, the leader's once it holds the API's route.
	vs      *networkingv1.VirtualService
	foreign bool // a VirtualService of this name that another owner controls
	// mesh is the mesh route an accepted internal API shares; stale is the API's own
	// VirtualService that it must not keep (see observeMesh).
	mesh  *meshRoute
	stale *networkingv1.VirtualService
	// route is the API's route as its RouteBuilder made or found it.
	route Route
	// routeRefused: the API server refused to store the route as the spec asks.
	routeRefused bool
	// routeWriteErr: the route write failed on the API server's side; the status says so,
	// and the reconcile returns it to be retried with backoff.
	routeWriteErr error
	ready         bool
	extConds      []metav1.Condition
	// extGone are the condition types of extensions with nothing to report.
	extGone []string
	// extRefused are the condition types of extensions whose False condition is a refusal.
	extRefused []string
	extTrouble extensionTrouble
	// routeHeld: the route in place is kept as it is while what guards it cannot cover
	// the change (guardMove), or a route of another kind is kept while the new one is not
	// programmed (holdFormerRoute); the status keeps describing it.
	routeHeld bool
	// settle is how long the guards stay widened over a route's move.
	settle time.Duration
}

// +kubebuilder:rbac:groups=oda.tmforum.org,resources=exposedapis,verbs=list;watch;patch
// +kubebuilder:rbac:groups=oda.tmforum.org,resources=exposedapis/status,verbs=patch
// Our VirtualServices and ServiceMonitors name their ExposedAPI as controller with
// blockOwnerDeletion, which OwnerReferencesPermissionEnforcement (OpenShift, hardened
// clusters) admits only with update on the owner's finalizers.
// +kubebuilder:rbac:groups=oda.tmforum.org,resources=exposedapis/finalizers,verbs=update
// +kubebuilder:rbac:groups=networking.istio.io,resources=virtualservices,verbs=get;list;watch;create;update;delete
// +kubebuilder:rbac:groups="",resources=services,verbs=list;watch
// +kubebuilder:rbac:groups=discovery.k8s.io,resources=endpointslices,verbs=list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// cacheCatchUp is how long a reconcile that found the cache behind our own write waits.
const cacheCatchUp = 50 * time.Millisecond

func (r *Reconciler) refusedRetry() time.Duration { return cmp.Or(r.RefusedRetry, time.Minute) }

// Reconcile brings one ExposedAPI's route and status in line with its spec.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	api := &odav1.ExposedAPI{}
	if err := r.Client.Get(ctx, req.NamespacedName, api); err != nil {
		r.writes.forget(req.NamespacedName)
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if r.writes.behind(req.NamespacedName, api.ResourceVersion) {
		// Our last status write is not in the cache yet: come back shortly, outside the
		// rate limiter (its shared bucket would hold thousands of these to 10 a second).
		return ctrl.Result{RequeueAfter: cacheCatchUp}, nil
	}
	if api.DeletionTimestamp != nil {
		return ctrl.Result{}, r.finalize(ctx, api)
	}
	ctx = logf.IntoContext(ctx, logf.FromContext(ctx).WithValues("component", api.Labels[odav1.ComponentNameLabel]))
	obs, err := r.observe(ctx, api)
	if err != nil {
		return ctrl.Result{}, err
	}
	if err := r.act(ctx, api, obs); err != nil {
		if apierrors.IsAlreadyExists(err) || apierrors.IsConflict(err) {
			// The cache is behind the API server; its event brings us back.
			logf.FromContext(ctx).V(1).Info("child changed under us, retrying", "reason", err.Error())
			//lint:ignore SA1019 a backstop behind that event, backing off if the cause persists
			return ctrl.Result{Requeue: true}, nil
		}
		return ctrl.Result{}, err
	}
	res, err := r.writeStatus(ctx, api, obs)
	if err == nil && obs.routeWriteErr != nil {
		return ctrl.Result{}, fmt.Errorf("writing the route: %w", obs.routeWriteErr)
	}
	if err == nil && obs.extTrouble.failed != nil {
		return ctrl.Result{}, fmt.Errorf("writing the API's children: %w", obs.extTrouble.failed)
	}
	if err == nil && res.IsZero() {
		res.RequeueAfter = obs.recheckAfter(r.refusedRetry())
	}
	return res, err
}

// recheckAfter is how long until the API is to be looked at again without an event; 0 for
// never. What refused a write (a webhook, a policy, a quota, the CRD's schema), or a child of
// another owner in the way, can change or go without the API changing; guards widened over
// a move are narrowed once it settles. A fixed wait: the 50 ms cache catch-up in between
// would reset the rate limiter's backoff.
func (obs *observed) recheckAfter(refused time.Duration) time.Duration {
	var d time.Duration
	if obs.routeRefused || obs.heldUp() || obs.extTrouble.refused {
		d = refused
	}
	if obs.settle > 0 && (d == 0 || obs.settle < d) {
		d = obs.settle
	}
	return d
}

// observe gathers every fact the reconcile decides on, all from caches.
func (r *Reconciler) observe(ctx context.Context, api *odav1.ExposedAPI) (*observed, error) {
	obs := &observed{spec: normalised(&api.Spec)}
	obs.claim = r.Routes.Route(api.Namespace, &obs.spec)
	obs.invalid = validation.ValidateSpec(&obs.spec, field.NewPath("spec"))
	var err error
	if obs.vs, err = virtualService(ctx, r.Client, api); err != nil {
		return nil, err
	}
	if obs.vs == nil && (WasNotControlled(api, "VirtualService") || len(obs.invalid) > 0 || r.takesOver(api)) {
		if err := r.uncachedVirtualService(ctx, api, obs); err != nil {
			return nil, err
		}
	}
	obs.foreign = obs.vs != nil && !ownedBy(obs.vs, api.UID)
	key, err := r.claimedRoute(ctx, api, obs)
	if err != nil {
		return nil, err
	}
	if key != "" {
		if obs.owner, err = r.routeOwner(ctx, api, key); err != nil {
			return nil, err
		}
	}
	if obs.vs == nil && obs.owner != nil {
		if err := r.uncachedVirtualService(ctx, api, obs); err != nil {
			return nil, err
		}
	}
	if err := r.observeMesh(ctx, api, obs); err != nil {
		return nil, err
	}
	if len(k8svalidation.IsDNS1035Label(obs.spec.Implementation)) == 0 {
		obs.ready, err = r.implementationReady(ctx, api.Namespace, obs.spec.Implementation)
	}
	return obs, err
}

// takesOver tells whether a VirtualService the canvas's Python operator made for the API may
// be in place while the API gets a route of another kind (an HTTPRoute): the API has no
// status of ours yet.
func (r *Reconciler) takesOver(api *odav1.ExposedAPI) bool {
	return r.Route != nil && neverReconciled(api)
}

// uncachedVirtualService looks, past the cache, for a VirtualService of the API's name that
// the cache cannot hold: another owner's, or one the canvas's Python operator made, without
// our labels. It is looked for only where the API will not write its own, which adopts one
// in place: for an invalid spec, whose Python-made VirtualService still routes; for a
// loser, whose VirtualService must be withdrawn; and for an API taking a Python-made one
// over with a route of another kind, which withdraws it once its own route serves, and
// guards it on the ingress gateway meanwhile. One of the API's own is labelled here, so
// that the cache, and the webhook, see the route it serves.
func (r *Reconciler) uncachedVirtualService(ctx context.Context, api *odav1.ExposedAPI, obs *observed) error {
	vs, err := virtualService(ctx, r.APIReader, api)
	if err != nil || vs == nil {
		return err
	}
	obs.vs, obs.foreign = vs, !ownedBy(vs, api.UID)
	if obs.foreign || labelsMatch(vs.Labels, childLabels(api)) {
		return nil
	}
	vs = vs.DeepCopy()
	AddChildLabels(vs, api)
	return r.Client.Update(ctx, vs)
}

func (obs *observed) accepted() bool { return len(obs.invalid) == 0 && obs.owner == nil }

// act programs or withdraws the route and runs the extensions.
func (r *Reconciler) act(ctx context.Context, api *odav1.ExposedAPI, obs *observed) error {
	route, others := r.routeBuilders(obs)
	if obs.owner != nil {
		if err := r.withdrawRoutes(ctx, api, obs.owner, append([]RouteBuilder{route}, others...)); err != nil {
			return err
		}
		return r.withdrawExtensions(ctx, api, obs)
	}
	if err := r.dropStale(ctx, api, obs); err != nil {
		return err
	}
	var err error
	if !obs.accepted() {
		// An invalid spec keeps its last route.
		if obs.route, err = route.Status(ctx, api); err != nil {
			return err
		}
		return r.withdrawExtensions(ctx, api, obs)
	}
	if err := r.program(ctx, api, obs, route, others); err != nil {
		return err
	}
	return r.holdFormerRoute(ctx, api, obs, others)
}

// holdFormerRoute keeps the status describing the API's route of another kind (its
// VirtualService, or the HTTPRoute of the side of the mesh it moved from) while that route
// is kept because the new one is not programmed (not accepted by the Gateway, refused, held
// back): the API is still reachable there, and its URL stays true. The Programmed condition
// says why the new route is not in place. In HTTPRoute mode only: in VirtualService mode no
// Gateway is watched, so a former HTTPRoute's acceptance cannot be judged.
func (r *Reconciler) holdFormerRoute(ctx context.Context, api *odav1.ExposedAPI, obs *observed, others []RouteBuilder) error {
	if r.Route == nil || obs.route.Programmed.Status == metav1.ConditionTrue {
		return nil
	}
	for _, other := range others {
		former, err := other.Status(ctx, api)
		if err != nil {
			return err
		}
		if !former.Absent && former.UID != "" && former.Programmed.Status == metav1.ConditionTrue {
			obs.routeHeld, obs.route.Absent = true, false
			return nil
		}
	}
	return nil
}

// program makes the route of an accepted spec, and the extensions' children: before a new
// route (guardNewRoute), after one in place; those that do not guard the route also while it
// cannot be written (besideUnwrittenRoute).
func (r *Reconciler) program(ctx context.Context, api *odav1.ExposedAPI, obs *observed, route RouteBuilder, others []RouteBuilder) error {
	fresh, err := r.newRoute(ctx, route, api, obs)
	if err != nil {
		return err
	}
	guard := r.guardMove
	if fresh {
		guard = r.guardNewRoute
	}
	if ok, err := guard(ctx, route, api, obs); !ok || err != nil {
		return r.besideUnwrittenRoute(ctx, api, obs, fresh, err)
	}
	if done, err := r.ensureRoute(ctx, api, obs, route); done || err != nil {
		return r.besideUnwrittenRoute(ctx, api, obs, fresh, err)
	}
	// A route of another kind (of a former --route-api, or of the side of the mesh the API
	// moved from) goes only once the new one is programmed: an HTTPRoute the gateway has not
	// accepted, or refused, serves nothing yet, while the old route still does.
	if obs.route.Programmed.Status == metav1.ConditionTrue {
		for _, other := range others {
			if _, err := other.Withdraw(ctx, api); err != nil {
				return fmt.Errorf("removing the %s the API is no longer routed by: %w", other.Kind(), err)
			}
		}
	}
	if fresh {
		return nil // the extensions ran before the route
	}
	return r.runExtensions(ctx, api, obs)
}

// besideUnwrittenRoute runs the extensions that do not guard the route (metrics scraping)
// when the route was not written: held back by its guards, refused, failed, or held by
// another owner's. What they make does not depend on the route, and a switch of their
// settings (the Uninstalling drain to ServiceMonitor) must reach every accepted API, or
// what a former setting left, and its finalizer, would stay for good. The RouteGuards do
// not run: they follow the route, which stays as it was. A new route's extensions all ran
// before it (guardNewRoute); err, from before, is returned as it is.
func (r *Reconciler) besideUnwrittenRoute(ctx context.Context, api *odav1.ExposedAPI, obs *observed, fresh bool, err error) error {
	if err != nil || fresh {
		return err
	}
	return obs.eachExtension(notGuards(r.Extensions), func(ext Extension) (*metav1.Condition, error) {
		return ext.Ensure(ctx, api, &obs.spec)
	})
}

// notGuards are the extensions that are not RouteGuards.
func notGuards(exts []Extension) []Extension {
	var out []Extension
	for _, ext := range exts {
		if _, ok := ext.(RouteGuard); !ok {
			out = append(out, ext)
		}
	}
	return out
}

// ensureRoute writes the API's route. It is done, with nothing more to do for the route,
// when the write was refused or failed (obs says so) or the route is not the API's own.
func (r *Reconciler) ensureRoute(ctx context.Context, api *odav1.ExposedAPI, obs *observed, route RouteBuilder) (bool, error) {
	var err error
	obs.route, err = route.Ensure(ctx, api, &obs.spec)
	switch {
	case refusedWrite(err):
		obs.route, obs.routeRefused = refusedRoute(route.Kind(), api.Name, r.refusedRetry(), err), true
		logf.FromContext(ctx).Info("route refused by the API server", "kind", route.Kind(), "reason", err.Error())
		return true, r.markAbsent(ctx, api, obs, route)
	case failedWrite(err):
		obs.route, obs.routeWriteErr = failedRoute(route.Kind(), api.Name, err), err
		return true, r.markAbsent(ctx, api, obs, route)
	}
	return err != nil || obs.route.UID == "", err
}

// markAbsent says, after a refused or failed write, whether a route written before is still
// in place: the status keeps describing it only then (one deleted by hand is not).
func (r *Reconciler) markAbsent(ctx context.Context, api *odav1.ExposedAPI, obs *observed, route RouteBuilder) error {
	exists, err := route.Exists(ctx, api)
	obs.route.Absent = err == nil && !exists
	return err
}

// withdrawRoutes deletes the API's routes, of every kind: owner owns the route.
func (r *Reconciler) withdrawRoutes(ctx context.Context, api, owner *odav1.ExposedAPI, builders []RouteBuilder) error {
	for _, route := range builders {
		withdrawn, err := route.Withdraw(ctx, api)
		if withdrawn {
			logf.FromContext(ctx).Info("route withdrawn: another ExposedAPI owns it", "owner", client.ObjectKeyFromObject(owner), "kind", route.Kind())
			r.event(api, "Warning", "RouteWithdrawn", "Delete", "%s %s deleted: %s owns the route", route.Kind(), api.Name, client.ObjectKeyFromObject(owner))
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (r *Reconciler) runExtensions(ctx context.Context, api *odav1.ExposedAPI, obs *observed) error {
	return obs.eachExtension(r.Extensions, func(ext Extension) (*metav1.Condition, error) {
		return ext.Ensure(ctx, api, &obs.spec)
	})
}

// withdrawExtensions has the extensions undo their work for an API that is not accepted.
func (r *Reconciler) withdrawExtensions(ctx context.Context, api *odav1.ExposedAPI, obs *observed) error {
	reason := ReasonRouteConflict // the Accepted condition's, which names an invalid spec first
	if len(obs.invalid) > 0 {
		reason = ReasonInvalidSpec
	}
	return obs.eachExtension(r.Extensions, func(ext Extension) (*metav1.Condition, error) {
		return ext.Withdraw(ctx, api, &obs.spec, reason)
	})
}

// eachExtension runs do on each extension and keeps the conditions they report.
func (obs *observed) eachExtension(exts []Extension, do func(Extension) (*metav1.Condition, error)) error {
	for _, ext := range exts {
		cond, err := do(ext)
		if c := obs.writeTrouble(ext, err); c != nil {
			cond, err = c, nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", ext.Name(), err)
		}
		if cond != nil {
			obs.extConds = append(obs.extConds, *cond)
			if r, ok := ext.(Refuser); ok && cond.Status == metav1.ConditionFalse && r.Refuses(cond) {
				obs.extRefused = append(obs.extRefused, cond.Type)
			}
		} else {
			obs.extGone = append(obs.extGone, ext.ConditionType())
		}
	}
	return nil
}

// RouteGuard is an Extension whose objects guard the API's route (token checks). An API
// being deleted loses its route before its extensions finalize (finalize), so that no
// moment leaves the route open without them.
type RouteGuard interface {
	// Guards tells whether it makes objects that guard the route spec asks for.
	Guards(api *odav1.ExposedAPI, spec *odav1.ExposedAPISpec) bool
	// Unguarded names an object of another owner that holds the name of one of those
	// objects (the InTheWay wording); "" when none does.
	Unguarded(ctx context.Context, api *odav1.ExposedAPI, spec *odav1.ExposedAPISpec) (string, error)
}

// finalize withdraws the routes of an API being deleted and lets each extension undo its
// work. Garbage collection would remove the routes only once the API is gone, after every
// finalizer: meanwhile the API's route would still serve beside the one of an API that
// takes it over (routes.Winner passes over APIs being deleted), and a guarded route would
// outlive its guards. Children orphaned on purpose stay: the route, and what guards it too.
func (r *Reconciler) finalize(ctx context.Context, api *odav1.ExposedAPI) error {
	orphaned, err := r.orphaned(ctx, api)
	if err != nil {
		return err
	}
	if !orphaned {
		if err := r.withdrawOwnRoutes(ctx, api); err != nil {
			return err
		}
	}
	for _, ext := range r.Extensions {
		if err := ext.Finalize(ctx, api, orphaned); err != nil {
			return fmt.Errorf("%s: %w", ext.Name(), err)
		}
	}
	if orphaned {
		return nil // the route stays, and the status describing it
	}
	return r.writeWithdrawn(ctx, api)
}

// writeWithdrawn says in the status of an API being deleted that its route is gone, when
// a finalizer of another controller keeps the API: until that controller lets it go, the
// status, and the Component entry that follows it, would keep a URL that nothing routes
// (another API may have taken the route over). The extensions have taken our finalizers
// off (api is as they left it), so any finalizer left is another's; with none left the API
// server has deleted the API, and no write is made: the usual deletion costs none. A write
// that conflicts or finds the API gone does not hold the deletion up (patchStatus).
func (r *Reconciler) writeWithdrawn(ctx context.Context, api *odav1.ExposedAPI) error {
	if len(api.Finalizers) == 0 {
		return nil
	}
	var extTypes []string
	for _, ext := range r.Extensions {
		extTypes = append(extTypes, ext.ConditionType())
	}
	_, err := r.patchStatus(ctx, api, withdrawnStatus(api, extTypes), nil)
	return err
}

// orphaned tells whether api is being deleted with its children left in place (kubectl
// delete --cascade=orphan). While the garbage collector orphans them, the orphan finalizer
// says so; once it is done, that finalizer is gone, and the route it orphaned (our labels,
// no controller) says so: the operator may not have seen the finalizer (it was restarting,
// or its own finalizer patch lost the race with the garbage collector's), and the route
// serves on all the same. The route is read from the API server: the API's event, after the
// garbage collector's last write, can reach us before the route's.
func (r *Reconciler) orphaned(ctx context.Context, api *odav1.ExposedAPI) (bool, error) {
	if controllerutil.ContainsFinalizer(api, metav1.FinalizerOrphanDependents) {
		return true, nil
	}
	spec := normalised(&api.Spec)
	route, _ := r.routeBuilders(&observed{spec: spec, claim: r.Routes.Route(api.Namespace, &spec)})
	orphaned, err := route.Orphaned(ctx, api)
	if err != nil {
		return false, fmt.Errorf("reading the %s of an API being deleted: %w", route.Kind(), err)
	}
	if orphaned {
		logf.FromContext(ctx).Info("route orphaned by the garbage collector: it stays, and what guards it too", "kind", route.Kind())
	}
	return orphaned, nil
}

// OrphanedRoute tells whether route, under api's name, is the API's own that the garbage
// collector orphaned: it carries the API's child labels but no controller.
func OrphanedRoute(route metav1.Object, api *odav1.ExposedAPI) bool {
	return metav1.GetControllerOf(route) == nil && labelsMatch(route.GetLabels(), childLabels(api))
}

// withdrawOwnRoutes deletes the API's own routes of every kind, which garbage collection
// would delete only once the API is gone.
func (r *Reconciler) withdrawOwnRoutes(ctx context.Context, api *odav1.ExposedAPI) error {
	builders := append([]RouteBuilder{virtualServices{r: r, obs: &observed{}}}, r.FormerRoutes...)
	if r.Route != nil {
		builders = append(builders, r.Route)
	}
	for _, b := range builders {
		if _, err := b.Withdraw(ctx, api); err != nil {
			return fmt.Errorf("withdrawing the %s of an API being deleted: %w", b.Kind(), err)
		}
	}
	return nil
}

func (r *Reconciler) event(api *odav1.ExposedAPI, kind, reason, action, note string, args ...any) {
	if r.Events != nil {
		r.Events.Eventf(api, nil, kind, reason, action, note, args...)
	}
}

// normalised is the spec as the defaulting webhook would store it; the controller does not
// count on the webhook having run.
func normalised(in *odav1.ExposedAPISpec) odav1.ExposedAPISpec {
	spec := *in.DeepCopy()
	spec.Path = validation.NormalizePath(spec.Path)
	spec.DeveloperUI = validation.NormalizeDeveloperUI(spec.DeveloperUI)
	spec.APIType = lower(spec.APIType)
	if spec.Segment == "" {
		spec.Segment = odav1.SegmentCore
	}
	return spec
}
