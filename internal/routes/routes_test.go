package routes

import (
	"testing"

	"github.com/stretchr/testify/assert"
	istioapi "istio.io/api/networking/v1alpha3"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
)

func TestRouteBySegment(t *testing.T) {
	s := Settings{Gateway: "canvas/component-gateway", InternalSegments: []string{odav1.SegmentManagement, odav1.SegmentSecurity}}
	spec := &odav1.ExposedAPISpec{Path: "/shop/metrics", Implementation: "shop-metrics", Segment: odav1.SegmentManagement}
	mesh := s.Route("components", spec)
	assert.Equal(t, Route{Gateway: "mesh", Host: "shop-metrics.components.svc.cluster.local", Path: "/shop/metrics", Internal: true}, mesh)

	spec.Segment = ""
	gateway := s.Route("components", spec)
	assert.Equal(t, Route{Gateway: "canvas/component-gateway", Host: "*", Path: "/shop/metrics"}, gateway, "an empty segment is core")
	assert.NotEqual(t, mesh.Key(), gateway.Key(), "a mesh route and a gateway route never conflict")

	s.InternalSegments = []string{odav1.SegmentCore}
	assert.True(t, s.Route("components", spec).Internal, "an empty segment is core, internal when core is")
}

// TestGatewayInAPINamespace: a bare gateway name is each namespace's own Gateway when the
// setting says so, and one gateway for all otherwise; a namespaced name is that Gateway.
func TestGatewayInAPINamespace(t *testing.T) {
	spec := &odav1.ExposedAPISpec{Path: "/shop"}
	shared := Settings{Gateway: "component-gateway"}
	assert.Equal(t, shared.Route("a", spec).Key(), shared.Route("b", spec).Key())

	own := Settings{Gateway: "component-gateway", GatewayInAPINamespace: true}
	assert.Equal(t, "a/component-gateway", own.Route("a", spec).Gateway)
	assert.NotEqual(t, own.Route("a", spec).Key(), own.Route("b", spec).Key())

	own.Gateway = "canvas/component-gateway"
	assert.Equal(t, own.Route("a", spec).Key(), own.Route("b", spec).Key())
}

// TestHostNamesOnly: where the route can name DNS host names only (an HTTPRoute), the route
// of an IP address host takes any host, and is keyed as any host, so that the APIs it
// shares a route with conflict and the token checks cover what it takes.
func TestHostNamesOnly(t *testing.T) {
	byIP := &odav1.ExposedAPISpec{Path: "/shop", Hostname: "192.0.2.11"}
	byName := &odav1.ExposedAPISpec{Path: "/shop", Hostname: "shop.example.com"}
	vs := Settings{Gateway: "canvas/gw"}
	assert.Equal(t, "192.0.2.11", vs.Route("a", byIP).Host, "a VirtualService names the IP")
	hr := Settings{Gateway: "canvas/gw", HostNamesOnly: true}
	assert.Equal(t, "*", hr.Route("a", byIP).Host)
	assert.Equal(t, hr.Route("a", &odav1.ExposedAPISpec{Path: "/shop"}).Key(), hr.Route("a", byIP).Key())
	assert.Equal(t, "shop.example.com", hr.Route("a", byName).Host)
	hr.PublicHostname = "192.0.2.10"
	assert.Equal(t, "*", hr.Route("a", byName).Host, "a public IP")
	hr.PublicHostname = "api.example.com"
	assert.Equal(t, "api.example.com", hr.Route("a", byIP).Host)
}

// TestServedKeyIsTheRouteKey: the key of a gateway VirtualService as the operator writes it
// is the key of the route it was made for, so claims by spec and by VirtualService meet. A
// mesh VirtualService, shared by the internal APIs of a Service, serves no one's claim.
func TestServedKeyIsTheRouteKey(t *testing.T) {
	vs := func(r Route) *networkingv1.VirtualService {
		vs := &networkingv1.VirtualService{}
		vs.Spec.Gateways, vs.Spec.Hosts = []string{r.Gateway}, []string{r.Host}
		vs.Spec.Http = []*istioapi.HTTPRoute{{Match: []*istioapi.HTTPMatchRequest{{
			Uri: &istioapi.StringMatch{MatchType: &istioapi.StringMatch_Prefix{Prefix: r.Path}},
		}}}}
		return vs
	}
	gateway := Route{Gateway: "component-gateway", Host: "API.example.com", Path: "/p"}
	assert.Equal(t, gateway.Key(), ServedKey(vs(gateway)))
	assert.Equal(t, "", MeshHost(vs(gateway)))

	mesh := vs(Route{Gateway: "mesh", Host: "impl.ns.svc.cluster.local", Path: "/p", Internal: true})
	assert.Equal(t, "", ServedKey(mesh))
	assert.Equal(t, "impl.ns.svc.cluster.local", MeshHost(mesh))
}
