package integration

import (
	"context"
	"fmt"
	"testing"

	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	istioapi "istio.io/api/networking/v1alpha3"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// meshRoute is the route of one internal API in its Service's mesh VirtualService: its path
// prefix on its port, to that port.
func meshRoute(name, path, impl string, port uint32) *istioapi.HTTPRoute {
	return &istioapi.HTTPRoute{
		Name: name,
		Match: []*istioapi.HTTPMatchRequest{{
			Uri:  &istioapi.StringMatch{MatchType: &istioapi.StringMatch_Prefix{Prefix: path}},
			Port: port,
		}},
		Route: []*istioapi.HTTPRouteDestination{{
			Destination: &istioapi.Destination{Host: impl, Port: &istioapi.PortSelector{Number: port}},
		}},
	}
}

// meshIs checks a VirtualService is exactly the mesh route of Service impl (cluster name
// host): the given routes, then the fall-through to the Service with no match and no port.
func meshIs(host, impl string, routes ...*istioapi.HTTPRoute) func(*networkingv1.VirtualService) error {
	want := &istioapi.VirtualService{
		Hosts:    []string{host},
		Gateways: []string{"mesh"},
		Http: append(routes, &istioapi.HTTPRoute{
			Route: []*istioapi.HTTPRouteDestination{{Destination: &istioapi.Destination{Host: impl}}},
		}),
	}
	return func(vs *networkingv1.VirtualService) error {
		if !proto.Equal(&vs.Spec, want) {
			return fmt.Errorf("spec\n%s\nwant\n%s", prototext.Format(&vs.Spec), prototext.Format(want))
		}
		return nil
	}
}

// noVirtualService waits until the API has no VirtualService of its name.
func noVirtualService(t *testing.T, env *harness.Env, api *odav1.ExposedAPI) {
	t.Helper()
	harness.Eventually(t, "no VirtualService "+api.Name, func() error {
		err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(api), &networkingv1.VirtualService{})
		if isNotFound(err) {
			return nil
		}
		if err == nil {
			return fmt.Errorf("VirtualService %s exists", api.Name)
		}
		return err
	})
}
