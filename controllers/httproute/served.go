package httproute

import (
	"context"
	"fmt"

	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/oda-canvas/api-operator-istio/internal/routes"
)

// Serving lists the operator's HTTPRoutes that serve route key (routes.Served): an API whose
// spec became invalid keeps its HTTPRoute, and the route stays its claim. None before the
// Gateway API kinds are served: there are no HTTPRoutes then.
func (b *Builder) Serving(ctx context.Context, key string) ([]client.Object, error) {
	c := b.caches.Load()
	if c == nil {
		return nil, nil
	}
	var list gatewayv1.HTTPRouteList
	if err := c.Routes.List(ctx, &list, client.MatchingFields{routes.ServedIndexKey: key}); err != nil {
		return nil, fmt.Errorf("listing the HTTPRoutes that serve route %s: %w", key, err)
	}
	out := make([]client.Object, len(list.Items))
	for i := range list.Items {
		out[i] = &list.Items[i]
	}
	return out, nil
}

// ServedKeys is the index function of routes.ServedIndexKey on the HTTPRoute cache.
func (b *Builder) ServedKeys(o client.Object) []string {
	hr, ok := o.(*gatewayv1.HTTPRoute)
	if !ok {
		return nil
	}
	if key := b.servedKey(hr); key != "" {
		return []string{key}
	}
	return nil
}

// servedKey is the route key an HTTPRoute of the shape spec makes serves, keyed as
// routes.Settings.Route keys what a spec asks for; "" for a route of another shape.
func (b *Builder) servedKey(hr *gatewayv1.HTTPRoute) string {
	s := &hr.Spec
	if len(s.ParentRefs) != 1 || s.ParentRefs[0].Namespace == nil || len(s.Hostnames) > 1 ||
		len(s.Rules) != 1 || len(s.Rules[0].Matches) != 1 {
		return ""
	}
	path := s.Rules[0].Matches[0].Path
	if path == nil || path.Value == nil || path.Type == nil || *path.Type != gatewayv1.PathMatchPathPrefix {
		return ""
	}
	// No host names: any host, an IP address among them (routes.Settings.HostNamesOnly).
	host := "*"
	if len(s.Hostnames) == 1 {
		host = string(s.Hostnames[0])
	}
	parent := s.ParentRefs[0]
	gateway := string(*parent.Namespace) + "/" + string(parent.Name)
	return routes.Route{Gateway: gateway, Host: host, Path: *path.Value}.Key()
}
