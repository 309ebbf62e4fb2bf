package httproute

import (
	"testing"

	"github.com/stretchr/testify/assert"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/internal/routes"
)

// TestServedKeyIsTheSpecsKey: the route an HTTPRoute serves is keyed as the route its spec
// asks for, so that a kept route and a spec asking for the same route meet in the claims.
func TestServedKeyIsTheSpecsKey(t *testing.T) {
	for _, tc := range []struct {
		name             string
		gateway, public  string
		hostname, wanted string
	}{
		{name: "bare gateway, any host", gateway: "component-gateway", wanted: "team-a/component-gateway|*|/shop"},
		{name: "namespaced gateway, own host", gateway: "canvas/gw", hostname: "Shop.Example.com.", wanted: "canvas/gw|shop.example.com|/shop"},
		{name: "public host name", gateway: "canvas/gw", public: "api.example.com", hostname: "shop.example.com", wanted: "canvas/gw|api.example.com|/shop"},
		{name: "public IP, which the route cannot name", gateway: "canvas/gw", public: "192.0.2.10", wanted: "canvas/gw|*|/shop"},
		{name: "own IP, which the route cannot name", gateway: "canvas/gw", hostname: "192.0.2.11", wanted: "canvas/gw|*|/shop"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := &Builder{Routes: routes.Settings{Gateway: tc.gateway, PublicHostname: tc.public, GatewayInAPINamespace: true, HostNamesOnly: true}}
			spec := &odav1.ExposedAPISpec{Path: "/shop", Hostname: tc.hostname, Implementation: "shop", Port: 8080}
			hr := &gatewayv1.HTTPRoute{Spec: b.spec("team-a", spec)}
			assert.Equal(t, tc.wanted, b.Routes.Route("team-a", spec).Key())
			assert.Equal(t, []string{tc.wanted}, b.ServedKeys(hr))
		})
	}
}

// TestServedKeyOfAnotherShape: a route the Builder would not make serves no key.
func TestServedKeyOfAnotherShape(t *testing.T) {
	b := &Builder{Routes: routes.Settings{Gateway: "canvas/gw"}}
	hr := &gatewayv1.HTTPRoute{Spec: b.spec("team-a", &odav1.ExposedAPISpec{Path: "/shop", Implementation: "shop", Port: 8080})}
	hr.Spec.Rules = append(hr.Spec.Rules, hr.Spec.Rules[0])
	assert.Empty(t, b.ServedKeys(hr))
}
