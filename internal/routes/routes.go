// Package routes says where an ExposedAPI is routed (the component gateway, or the mesh for
// an internal segment), decides which ExposedAPI owns a route when several ask for the
// same one, and which internal APIs share the mesh route of their Service (MeshMembers). The
// webhook and the controller both use it, so that admission and reconciliation agree on the
// route and its winner.
package routes

import (
	"net"
	"slices"
	"strings"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/api/v1/validation"
)

// IndexKey is the cache index of ExposedAPIs by the route key their spec asks for; only a
// valid spec, one that can route, is indexed.
const IndexKey = "oda.route"

// MeshGateway is Istio's reserved gateway name for the sidecars of the mesh.
const MeshGateway = "mesh"

// Settings are the operator-wide facts a route depends on.
type Settings struct {
	Gateway        string
	PublicHostname string
	// GatewayInAPINamespace: a Gateway without a namespace is the one of that name in each
	// API's namespace, a gateway of its own (a Gateway API Gateway). Without it, as for Istio
	// Gateways, which usually select the same ingress pods whatever their namespace, the
	// routes of every namespace meet on one gateway.
	GatewayInAPINamespace bool
	// HostNamesOnly: the route names DNS host names only (an HTTPRoute's hostnames), so the
	// route of an IP address host matches any host, and is keyed, and checked, as one.
	HostNamesOnly bool
	// InternalSegments are the segments whose APIs are routed inside the mesh only.
	InternalSegments []string
}

// Route is what an API's VirtualService matches: a path prefix of a host on a gateway.
type Route struct {
	Gateway, Host, Path string
	// Internal is a route on the mesh gateway, to the Service's cluster name.
	Internal bool
}

// Route is the route an API of namespace asks for: inside the mesh for an internal
// segment (an empty segment is core), else on the component gateway. The spec's path must
// be normalised (validation.NormalizePath), as the controller and the webhook both do
// before they call it: a stored spec may predate the webhooks.
func (s Settings) Route(namespace string, spec *odav1.ExposedAPISpec) Route {
	segment := spec.Segment
	if segment == "" {
		segment = odav1.SegmentCore
	}
	if slices.Contains(s.InternalSegments, segment) {
		return Route{Gateway: MeshGateway, Host: ServiceHost(spec.Implementation, namespace), Path: spec.Path, Internal: true}
	}
	return Route{Gateway: s.gateway(namespace), Host: s.host(spec), Path: spec.Path}
}

// gateway names the gateway the routes of namespace attach to.
func (s Settings) gateway(namespace string) string {
	if s.GatewayInAPINamespace && !strings.Contains(s.Gateway, "/") {
		return namespace + "/" + s.Gateway
	}
	return s.Gateway
}

// ServiceHost is the cluster name of Service name in namespace.
func ServiceHost(name, namespace string) string {
	return name + "." + namespace + ".svc.cluster.local"
}

// host is the host a gateway route for spec matches: the operator's public host name, else
// the API's own, else any host.
func (s Settings) host(spec *odav1.ExposedAPISpec) string {
	h := s.PublicHostname
	if h == "" {
		h = validation.NormalizeHostname(spec.Hostname)
	}
	if h == "" || s.HostNamesOnly && net.ParseIP(h) != nil {
		return "*"
	}
	return h
}

// Key identifies the route among claims: conflicts are judged per gateway, host and path.
func (r Route) Key() string {
	return key(r.Gateway, r.Host, r.Path)
}

func (r Route) String() string {
	return r.Host + r.Path + " on gateway " + r.Gateway
}

func key(gateway, host, path string) string {
	return gateway + "|" + strings.ToLower(host) + "|" + path
}

// Less orders claimants: the oldest wins, then namespace/name breaks ties, so every
// reconcile, whatever its order, picks the same winner.
func Less(a, b *odav1.ExposedAPI) bool {
	ta, tb := a.CreationTimestamp.Time, b.CreationTimestamp.Time
	if !ta.Equal(tb) {
		return ta.Before(tb)
	}
	if a.Namespace != b.Namespace {
		return a.Namespace < b.Namespace
	}
	return a.Name < b.Name
}

// Winner is the claimant that owns the route among apis; objects being deleted do not
// count. It returns nil when there is none.
func Winner(apis []odav1.ExposedAPI) *odav1.ExposedAPI {
	var best *odav1.ExposedAPI
	for i := range apis {
		a := &apis[i]
		if a.DeletionTimestamp != nil {
			continue
		}
		if best == nil || Less(a, best) {
			best = a
		}
	}
	return best
}
