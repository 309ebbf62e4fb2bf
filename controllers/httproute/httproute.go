// Package httproute routes each ExposedAPI with a Gateway API HTTPRoute on the component
// Gateway (--route-api=HTTPRoute), the RouteBuilder the exposedapi controller uses in place
// of Istio VirtualServices.
package httproute

import (
	"context"
	"net"
	"strings"
	"sync/atomic"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/controllers/exposedapi"
	"github.com/oda-canvas/api-operator-istio/internal/policy"
	"github.com/oda-canvas/api-operator-istio/internal/routes"
)

// +kubebuilder:rbac:groups=gateway.networking.k8s.io,resources=httproutes,verbs=get;list;watch;create;update;delete
// +kubebuilder:rbac:groups=gateway.networking.k8s.io,resources=gateways,verbs=list;watch
// The GatewayClass of the Gateway names the implementation that serves it.
// +kubebuilder:rbac:groups=gateway.networking.k8s.io,resources=gatewayclasses,verbs=get;list;watch

// Builder makes, updates and withdraws the HTTPRoutes.
type Builder struct {
	// Client writes to the API server.
	Client client.Client
	// APIReader reads the API server directly: an HTTPRoute of the API's name outside the
	// cache (not labelled by this operator) is looked at there.
	APIReader client.Reader
	// Routes holds the component gateway ("namespace/name", or a name in the API's
	// namespace) and the public host name.
	Routes routes.Settings

	// caches are set once the Gateway API kinds are served.
	caches atomic.Pointer[Caches]
}

// Caches read the operator's HTTPRoutes, the component Gateways and the GatewayClasses.
type Caches struct{ Routes, Gateways, Classes client.Reader }

// SetCaches hands the Builder its caches once the Gateway API CRDs are served; until then
// every API says the CRDs are missing.
func (b *Builder) SetCaches(c Caches) { b.caches.Store(&c) }

var _ exposedapi.RouteBuilder = (*Builder)(nil)

// Kind is the route's kind.
func (*Builder) Kind() string { return "HTTPRoute" }

// Ensure makes the API's HTTPRoute, or updates it in place, and reads whether the gateway
// accepted it.
func (b *Builder) Ensure(ctx context.Context, api *odav1.ExposedAPI, spec *odav1.ExposedAPISpec) (exposedapi.Route, error) {
	c := b.caches.Load()
	if c == nil {
		return crdsMissing(), nil
	}
	hr, err := b.get(ctx, c.Routes, api)
	if err == nil && hr == nil && exposedapi.WasNotControlled(api, b.Kind()) {
		hr, err = b.get(ctx, b.APIReader, api)
	}
	switch {
	case err != nil:
		return exposedapi.Route{}, err
	case hr != nil && !exposedapi.OwnedBy(hr, api.UID):
		return notOwned(api), nil
	}
	want := b.spec(api.Namespace, spec)
	did := ""
	if hr == nil {
		hr, did, err = b.create(ctx, api, want)
		if apierrors.IsAlreadyExists(err) {
			return b.collision(ctx, c, api, want, err)
		}
	} else if !equality.Semantic.DeepEqual(hr.Spec, want) || !exposedapi.LabelsMatch(hr.Labels, exposedapi.ChildLabels(api)) {
		hr, did, err = b.update(ctx, api, hr, want)
	}
	if err != nil {
		return exposedapi.Route{}, err
	}
	if did != "" {
		logf.FromContext(ctx).Info("HTTPRoute "+strings.ToLower(did), "httpRoute", api.Name, "gateway", b.Routes.Gateway, "path", spec.Path)
	}
	return b.route(ctx, c, api, hr)
}

// Withdraw deletes the API's own HTTPRoute, if the kind is served and it has one.
func (b *Builder) Withdraw(ctx context.Context, api *odav1.ExposedAPI) (bool, error) {
	c := b.caches.Load()
	if c == nil {
		return false, nil
	}
	hr, err := b.get(ctx, c.Routes, api)
	if err != nil || hr == nil || !exposedapi.OwnedBy(hr, api.UID) {
		return false, err
	}
	err = b.Client.Delete(ctx, hr, client.Preconditions{UID: &hr.UID})
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

// Status reports the API's HTTPRoute as it stands.
func (b *Builder) Status(ctx context.Context, api *odav1.ExposedAPI) (exposedapi.Route, error) {
	c := b.caches.Load()
	if c == nil {
		return exposedapi.Route{}, nil
	}
	hr, err := b.get(ctx, c.Routes, api)
	switch {
	case err != nil || hr == nil:
		return exposedapi.Route{}, err
	case !exposedapi.OwnedBy(hr, api.UID):
		return notOwned(api), nil
	}
	return b.route(ctx, c, api, hr)
}

// Exists tells whether the cache holds an HTTPRoute of the API's name.
func (b *Builder) Exists(ctx context.Context, api *odav1.ExposedAPI) (bool, error) {
	c := b.caches.Load()
	if c == nil {
		return false, nil
	}
	hr, err := b.get(ctx, c.Routes, api)
	return hr != nil, err
}

// Taken tells whether the API server holds an HTTPRoute under the API's name.
func (b *Builder) Taken(ctx context.Context, api *odav1.ExposedAPI) (bool, error) {
	hr, err := b.get(ctx, b.APIReader, api)
	return hr != nil, err
}

// Orphaned tells whether the API server holds the API's HTTPRoute, orphaned by the garbage
// collector; none can be while the kind is not served.
func (b *Builder) Orphaned(ctx context.Context, api *odav1.ExposedAPI) (bool, error) {
	if b.caches.Load() == nil {
		return false, nil
	}
	hr, err := b.get(ctx, b.APIReader, api)
	if err != nil || hr == nil {
		return false, err
	}
	return exposedapi.OrphanedRoute(hr, api), nil
}

func (b *Builder) get(ctx context.Context, r client.Reader, api *odav1.ExposedAPI) (*gatewayv1.HTTPRoute, error) {
	hr := &gatewayv1.HTTPRoute{}
	err := r.Get(ctx, client.ObjectKeyFromObject(api), hr)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	return hr, err
}

// collision is a failed create: an HTTPRoute of the API's name that the cache does not
// show, because another owner made it, its label was taken off (it is labelled again), or
// the cache is behind.
func (b *Builder) collision(ctx context.Context, c *Caches, api *odav1.ExposedAPI, want gatewayv1.HTTPRouteSpec, createErr error) (exposedapi.Route, error) {
	hr, err := b.get(ctx, b.APIReader, api)
	switch {
	case err != nil:
		return exposedapi.Route{}, err
	case hr == nil:
		return exposedapi.Route{}, createErr // gone since: try again
	case !exposedapi.OwnedBy(hr, api.UID):
		return notOwned(api), nil
	}
	if hr, _, err = b.update(ctx, api, hr, want); err != nil {
		return exposedapi.Route{}, err
	}
	return b.route(ctx, c, api, hr)
}

func (b *Builder) create(ctx context.Context, api *odav1.ExposedAPI, want gatewayv1.HTTPRouteSpec) (*gatewayv1.HTTPRoute, string, error) {
	hr := &gatewayv1.HTTPRoute{
		ObjectMeta: metav1.ObjectMeta{Name: api.Name, Namespace: api.Namespace, Labels: exposedapi.ChildLabels(api)},
		Spec:       want,
	}
	if err := controllerutil.SetControllerReference(api, hr, b.Client.Scheme()); err != nil {
		return nil, "", err
	}
	if err := b.Client.Create(ctx, hr); err != nil {
		return nil, "", err
	}
	return hr, "Created", nil
}

func (b *Builder) update(ctx context.Context, api *odav1.ExposedAPI, hr *gatewayv1.HTTPRoute, want gatewayv1.HTTPRouteSpec) (*gatewayv1.HTTPRoute, string, error) {
	hr = hr.DeepCopy()
	hr.Spec = want
	exposedapi.AddChildLabels(hr, api)
	if err := b.Client.Update(ctx, hr); err != nil {
		return nil, "", err
	}
	return hr, "Updated", nil
}

// spec is the route of R3.1 in Gateway API terms: the API's path prefix on the component
// Gateway to the implementation Service's port. Every field the API server would default
// is written out, so that the stored spec equals the wanted one.
func (b *Builder) spec(namespace string, spec *odav1.ExposedAPISpec) gatewayv1.HTTPRouteSpec {
	gw := b.GatewayKey(namespace)
	out := gatewayv1.HTTPRouteSpec{
		CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{{
			Group:     ptr.To(gatewayv1.Group(gatewayv1.GroupName)),
			Kind:      ptr.To(gatewayv1.Kind("Gateway")),
			Namespace: ptr.To(gatewayv1.Namespace(gw.Namespace)),
			Name:      gatewayv1.ObjectName(gw.Name),
		}}},
		Hostnames: hostnames(b.Routes.Route(namespace, spec).Host),
		Rules: []gatewayv1.HTTPRouteRule{{
			Matches: []gatewayv1.HTTPRouteMatch{{Path: &gatewayv1.HTTPPathMatch{
				Type: ptr.To(gatewayv1.PathMatchPathPrefix), Value: ptr.To(spec.Path),
			}}},
			BackendRefs: []gatewayv1.HTTPBackendRef{{BackendRef: gatewayv1.BackendRef{
				BackendObjectReference: gatewayv1.BackendObjectReference{
					Group: ptr.To(gatewayv1.Group("")), Kind: ptr.To(gatewayv1.Kind("Service")),
					Name: gatewayv1.ObjectName(spec.Implementation), Port: ptr.To(spec.Port),
				},
				Weight: ptr.To(int32(1)),
			}}},
			Timeouts: policy.GatewayTimeouts(spec),
		}},
	}
	if cors := policy.GatewayCORS(spec.CORS); cors != nil {
		out.Rules[0].Filters = []gatewayv1.HTTPRouteFilter{{Type: gatewayv1.HTTPRouteFilterCORS, CORS: cors}}
	}
	return out
}

// GatewayKey is the component Gateway of an API in namespace: "namespace/name", or a bare
// name in the API's own namespace.
func (b *Builder) GatewayKey(namespace string) client.ObjectKey {
	if ns, name, ok := strings.Cut(b.Routes.Gateway, "/"); ok {
		return client.ObjectKey{Namespace: ns, Name: name}
	}
	return client.ObjectKey{Namespace: namespace, Name: b.Routes.Gateway}
}

// hostnames are the route's host names: none for any host, and none for an IP address,
// which an HTTPRoute may not name.
func hostnames(host string) []gatewayv1.Hostname {
	if host == "*" || net.ParseIP(host) != nil {
		return nil
	}
	return []gatewayv1.Hostname{gatewayv1.Hostname(strings.ToLower(host))}
}

func notOwned(api *odav1.ExposedAPI) exposedapi.Route {
	return exposedapi.Route{Refused: true, Absent: true, Programmed: programmed(false, "HTTPRouteNotOwned", exposedapi.NotControlled("HTTPRoute", api))}
}

func crdsMissing() exposedapi.Route {
	return exposedapi.Route{Refused: true, Absent: true, Programmed: programmed(false, ReasonCRDsMissing,
		"the Gateway API kinds HTTPRoute, Gateway and GatewayClass (gateway.networking.k8s.io/v1) are not installed: install the Gateway API CRDs (standard channel), or set APIOPERATORISTIO_ROUTEAPI=VirtualService; the route is made as soon as they appear")}
}
