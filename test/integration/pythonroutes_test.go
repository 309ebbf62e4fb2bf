package integration

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	istioapi "istio.io/api/networking/v1alpha3"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// pythonVirtualService is an API's VirtualService as the canvas's Python operator made it:
// controlled by the API (kopf.adopt), without our labels, so outside our caches.
func pythonVirtualService(api *odav1.ExposedAPI, path string) *networkingv1.VirtualService {
	vs := &networkingv1.VirtualService{ObjectMeta: metav1.ObjectMeta{Namespace: api.Namespace, Name: api.Name}}
	vs.Spec.Hosts, vs.Spec.Gateways = []string{"*"}, []string{"component-gateway"}
	vs.Spec.Http = []*istioapi.HTTPRoute{{
		Match: []*istioapi.HTTPMatchRequest{{Uri: &istioapi.StringMatch{MatchType: &istioapi.StringMatch_Prefix{Prefix: path}}}},
		Route: []*istioapi.HTTPRouteDestination{{Destination: &istioapi.Destination{Host: "impl", Port: &istioapi.PortSelector{Number: 8080}}}},
	}}
	vs.OwnerReferences = []metav1.OwnerReference{{APIVersion: "oda.tmforum.org/v1", Kind: "ExposedAPI", Name: api.Name, UID: api.UID, Controller: ptr.To(true)}}
	return vs
}

// TestPythonRoutesCountInConflicts (R2.3): the Python operator checked no conflicts, so two
// APIs may each hold a VirtualService of its making on one path. Once ours runs, the loser's
// is withdrawn though no cache of ours holds it, and exactly one routes the path. An API
// whose spec ours finds invalid keeps the Python VirtualService it has, and the route it
// serves: a later API on that path is the loser.
func TestPythonRoutesCountInConflicts(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		ctx := context.Background()
		env, ns := startComponents(t, set)
		env.Implementation(t, ns, "impl", 8080, true)
		first := harness.API(ns, "first", "/shared", "impl", 8080)
		require.NoError(t, env.Client.Create(ctx, first))
		second := harness.API(ns, "second", "/shared", "impl", 8080)
		require.NoError(t, env.Client.Create(ctx, second))
		old := harness.API(ns, "old", "/kept", "impl", 0)
		require.NoError(t, env.Client.Create(ctx, old))
		for _, a := range []*odav1.ExposedAPI{first, second} {
			require.NoError(t, env.Client.Create(ctx, pythonVirtualService(a, "/shared")))
		}
		require.NoError(t, env.Client.Create(ctx, pythonVirtualService(old, "/kept")))

		harness.StartOperator(t, env, harness.DefaultOptions())
		servingRoute(t, env, ns, "/shared", []string{"first"}, second, "RouteConflict")
		waitCondition(t, env, old, "Accepted", false, "InvalidSpec")
		late := harness.API(ns, "late", "/kept", "impl", 8080)
		require.NoError(t, env.Client.Create(ctx, late))
		servingRoute(t, env, ns, "/kept", []string{"old"}, late, "RouteConflict")
	})
}
