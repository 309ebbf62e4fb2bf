package app

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/discovery"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/controllers/crdwatch"
	"github.com/oda-canvas/api-operator-istio/controllers/exposedapi"
	"github.com/oda-canvas/api-operator-istio/controllers/httproute"
	"github.com/oda-canvas/api-operator-istio/controllers/policies"
	"github.com/oda-canvas/api-operator-istio/internal/cachesync"
	"github.com/oda-canvas/api-operator-istio/internal/index"
	"github.com/oda-canvas/api-operator-istio/internal/routes"
)

// gatewayAPIWiring gives the HTTPRoute builder its caches and watches once the Gateway API
// kinds are served: at start, or when their CRDs appear. In VirtualService mode it only
// reads the operator's HTTPRoutes, to remove those of a former HTTPRoute mode.
type gatewayAPIWiring struct {
	builder                   *httproute.Builder
	routes, gateways, classes *crdwatch.KindServed
	mgr                       ctrl.Manager
	o                         *Options
	// appeared wakes every API when the kinds arrive after the start.
	appeared chan event.GenericEvent

	mu      sync.Mutex
	apis    *exposedapi.Reconciler
	started bool
	// late: the caches started on a CRD's arrival, after the start; woken: the leader has
	// since woken every API for it.
	late, woken bool
}

func newGatewayAPIWiring(mgr ctrl.Manager, dc discovery.DiscoveryInterface, o *Options) *gatewayAPIWiring {
	gv := gatewayv1.GroupVersion.String()
	return &gatewayAPIWiring{
		builder:  &httproute.Builder{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Routes: routeSettings(o)},
		routes:   &crdwatch.KindServed{Discovery: dc, GroupVersion: gv, Resource: "httproutes"},
		gateways: &crdwatch.KindServed{Discovery: dc, GroupVersion: gv, Resource: "gateways"},
		classes:  &crdwatch.KindServed{Discovery: dc, GroupVersion: gv, Resource: "gatewayclasses"},
		mgr:      mgr, o: o,
		appeared: make(chan event.GenericEvent, 1024),
	}
}

func (w *gatewayAPIWiring) httpRoutes() bool { return w.o.RouteAPI == HTTPRoute }

// plug sets the builder into the ExposedAPI reconciler: as its route builder in HTTPRoute
// mode, its HTTPRoutes then claiming the routes they serve, and the policies' finder of
// the Gateway; else as the former route API.
func (w *gatewayAPIWiring) plug(r *exposedapi.Reconciler, pol *policies.Extension) {
	if w.httpRoutes() {
		r.Route, r.Served = w.builder, []routes.Served{w.builder.Serving}
		pol.Kubernetes = w.builder
		return
	}
	r.FormerRoutes = []exposedapi.RouteBuilder{w.builder}
}

// watches adds the channel that wakes every API when the kinds arrive.
func (w *gatewayAPIWiring) watches(b *builder.Builder) *builder.Builder {
	return b.WatchesRawSource(source.Channel(w.appeared, &handler.EnqueueRequestForObject{}))
}

// setController starts the caches at once when the kinds are served already.
func (w *gatewayAPIWiring) setController(r *exposedapi.Reconciler) error {
	w.mu.Lock()
	w.apis = r
	w.mu.Unlock()
	_, err := w.startIfServed(false)
	return err
}

func (w *gatewayAPIWiring) served(recheck bool) bool {
	kinds := []*crdwatch.KindServed{w.routes}
	if w.httpRoutes() {
		kinds = append(kinds, w.gateways, w.classes)
	}
	for _, k := range kinds {
		served := false
		if recheck {
			served, _ = k.Recheck()
		} else {
			served = k.Served()
		}
		if !served {
			return false
		}
	}
	return true
}

// startIfServed makes the caches and watches once the kinds are served; it tells whether
// it started them now.
func (w *gatewayAPIWiring) startIfServed(recheck bool) (bool, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.started || w.apis == nil || !w.served(recheck) {
		return false, nil
	}
	hrs, err := w.routeCache()
	if err != nil {
		return false, err
	}
	caches := httproute.Caches{Routes: hrs}
	if w.httpRoutes() {
		gateways, err := w.gatewayCache()
		if err != nil {
			return false, err
		}
		classes, err := w.classCache()
		if err != nil {
			return false, err
		}
		caches.Gateways, caches.Classes = gateways, classes
		if err := w.watch(hrs, gateways, classes); err != nil {
			return false, err
		}
	}
	w.builder.SetCaches(caches)
	w.started, w.late = true, recheck
	return true, nil
}

// routeCache holds the operator's HTTPRoutes, indexed by the route they serve before the
// cache starts. It runs on every replica, as the manager's own cache does: the validating
// webhook, which every replica serves, counts the routes they serve.
func (w *gatewayAPIWiring) routeCache() (cache.Cache, error) {
	by := cache.ByObject{Label: labels.SelectorFromSet(labels.Set{exposedapi.ManagedByLabel: exposedapi.ManagedByValue})}
	return w.newCache(&gatewayv1.HTTPRoute{}, by, nil, cacheSetup{everyReplica: true, prepare: func(c cache.Cache) error {
		return index.Add(context.Background(), c, &gatewayv1.HTTPRoute{}, routes.ServedIndexKey, index.Cluster, w.builder.ServedKeys)
	}})
}

// cacheSetup is what a cache needs beyond its objects: indexes made before it starts, and
// whether it runs on every replica rather than on the leader alone.
type cacheSetup struct {
	prepare      func(cache.Cache) error
	everyReplica bool
}

// unelected is a cache that runs without the leader's lease.
type unelected struct{ cache.Cache }

func (unelected) NeedLeaderElection() bool { return false }

// gatewayCache holds only the component Gateways: the named one, or the Gateway of that
// name in each served namespace.
func (w *gatewayAPIWiring) gatewayCache() (cache.Cache, error) {
	by := cache.ByObject{Field: fields.OneTermEqualSelector("metadata.name", w.o.ComponentGateway)}
	var namespaces map[string]cache.Config
	if ns, name, ok := strings.Cut(w.o.ComponentGateway, "/"); ok {
		by.Field = fields.OneTermEqualSelector("metadata.name", name)
		namespaces = map[string]cache.Config{ns: {}}
	}
	return w.newCache(&gatewayv1.Gateway{}, by, namespaces, cacheSetup{})
}

// classCache holds the GatewayClasses, all of them: which of them the component Gateways
// use is known only from the Gateways, and a cluster has few.
func (w *gatewayAPIWiring) classCache() (cache.Cache, error) {
	// Cluster-scoped: the served namespaces' filter would drop every one.
	all := map[string]cache.Config{cache.AllNamespaces: {}}
	return w.newCache(&gatewayv1.GatewayClass{}, cache.ByObject{}, all, cacheSetup{})
}

// newCache is a cache of one kind, in the served namespaces unless namespaces are given,
// run by the manager as setup says.
func (w *gatewayAPIWiring) newCache(obj client.Object, by cache.ByObject, namespaces map[string]cache.Config, setup cacheSetup) (cache.Cache, error) {
	served := managerOptions(w.o).Cache
	opts := cache.Options{
		Scheme: w.mgr.GetScheme(), Mapper: w.mgr.GetRESTMapper(),
		DefaultTransform:  cache.TransformStripManagedFields(),
		DefaultNamespaces: served.DefaultNamespaces, NewInformer: served.NewInformer,
		ByObject: map[client.Object]cache.ByObject{obj: by},
	}
	if namespaces != nil {
		opts.DefaultNamespaces, opts.NewInformer = namespaces, nil
	}
	c, err := cachesync.New(w.mgr.GetConfig(), opts)
	if err != nil {
		return nil, fmt.Errorf("creating the %T cache: %w", obj, err)
	}
	if setup.prepare != nil {
		if err := setup.prepare(c); err != nil {
			return nil, fmt.Errorf("setting up the %T cache: %w", obj, err)
		}
	}
	if setup.everyReplica {
		return c, w.mgr.Add(unelected{c})
	}
	return c, w.mgr.Add(c)
}

// watch reconciles an API when the gateway writes its route's status, the other claimants
// of the route an HTTPRoute serves or served when it changes, and every API the component
// Gateway carries when its address or listeners change, and those of the Gateways of a
// GatewayClass when the class comes, goes or changes hands.
func (w *gatewayAPIWiring) watch(hrs, gateways, classes cache.Cache) error {
	c, r := w.apis.Controller, w.apis
	owner := handler.TypedEnqueueRequestForOwner[*gatewayv1.HTTPRoute](w.mgr.GetScheme(), w.mgr.GetRESTMapper(),
		&odav1.ExposedAPI{}, handler.OnlyControllerOwner())
	if err := c.Watch(source.Kind(hrs, &gatewayv1.HTTPRoute{}, owner)); err != nil {
		return fmt.Errorf("watching HTTPRoutes: %w", err)
	}
	if err := c.Watch(source.Kind(hrs, client.Object(&gatewayv1.HTTPRoute{}), r.ServedPeers(w.builder.ServedKeys))); err != nil {
		return fmt.Errorf("watching the routes HTTPRoutes serve: %w", err)
	}
	carried := handler.TypedEnqueueRequestsFromMapFunc(func(ctx context.Context, gw *gatewayv1.Gateway) []reconcile.Request {
		return r.APIs(ctx, w.builder.APIsOfGateway(gw)...)
	})
	if err := c.Watch(source.Kind(gateways, &gatewayv1.Gateway{}, carried, httproute.GatewayChanged())); err != nil {
		return fmt.Errorf("watching Gateways: %w", err)
	}
	classed := handler.TypedEnqueueRequestsFromMapFunc(func(ctx context.Context, class *gatewayv1.GatewayClass) []reconcile.Request {
		return w.apisOfClass(ctx, gateways, class.Name)
	})
	if err := c.Watch(source.Kind(classes, &gatewayv1.GatewayClass{}, classed, httproute.GatewayClassChanged())); err != nil {
		return fmt.Errorf("watching GatewayClasses: %w", err)
	}
	return nil
}

// apisOfClass are the APIs the component Gateways of class carry; the Gateway cache holds
// the component Gateways alone.
func (w *gatewayAPIWiring) apisOfClass(ctx context.Context, gateways client.Reader, class string) []reconcile.Request {
	var list gatewayv1.GatewayList
	if err := gateways.List(ctx, &list); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "listing Gateways from the cache", "gatewayClass", class)
		return nil
	}
	var out []reconcile.Request
	for i := range list.Items {
		if gw := &list.Items[i]; string(gw.Spec.GatewayClassName) == class {
			out = append(out, w.apis.APIs(ctx, w.builder.APIsOfGateway(gw)...)...)
		}
	}
	return out
}

// onCRDArrival starts the caches when a Gateway API CRD arrives and the kinds are served,
// on every replica: a standby's webhook reads the HTTPRoute cache too. It writes nothing.
func (w *gatewayAPIWiring) onCRDArrival(ctx context.Context, group string) {
	if group != gatewayv1.GroupName {
		return
	}
	if _, err := w.startIfServed(true); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "starting the Gateway API watches; the APIs stay without HTTPRoutes until a restart")
	}
}

// onCRDChange, on the leader, starts the caches as onCRDArrival does, and then sets every
// API up once (HTTPRoute mode; in VirtualService mode an API can have no HTTPRoute to
// remove before the kind exists). The caches may have been started by onCRDArrival first,
// or before this replica was elected.
func (w *gatewayAPIWiring) onCRDChange(ctx context.Context, group string) {
	w.onCRDArrival(ctx, group)
	if group != gatewayv1.GroupName || !w.httpRoutes() || !w.wake() {
		return
	}
	wakeAPIs(ctx, w.appeared, w.apis.APIs(ctx))
}

// wake tells whether the APIs are yet to be woken for caches started after the start.
func (w *gatewayAPIWiring) wake() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.started || !w.late || w.woken {
		return false
	}
	w.woken = true
	return true
}
