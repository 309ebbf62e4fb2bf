package integration

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/internal/app"
	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// TestLeaderMovedOutGuardedFirst: the oldest internal API of a Service, asking for token
// checks, moved to a core segment must not be on the public gateway before its token checks
// are written (README: "A new API's policy objects are written before its route, so that it
// is never reachable without its token checks").
func TestLeaderMovedOutGuardedFirst(t *testing.T) {
	ctx := context.Background()
	env, ns := startWithImplAnd(t, harness.Generated, func(o *app.Options) {
		o.JWTIssuer, o.RefusedRetry = issuer, time.Second
		o.InternalSegments = []string{odav1.SegmentManagement}
	})
	api := harness.API(ns, "leader", "/leader", "impl", 8080)
	api.Spec.Segment = odav1.SegmentManagement
	api.Spec.APIKeyVerification = &odav1.APIKeyVerification{Enabled: ptr.To(true)}
	require.NoError(t, env.Client.Create(ctx, api))
	mesh := "impl." + ns + ".svc.cluster.local"
	virtualService(t, env, api, meshIs(mesh, "impl", meshRoute("leader", "/leader", "impl", 8080)))
	waitCondition(t, env, api, "PoliciesProgrammed", false, "PolicyNotEnforced")

	refuseTokenChecks(t, env)
	env.UpdateAPI(t, api, func(a *odav1.ExposedAPI) { a.Spec.Segment = odav1.SegmentCore })
	waitCondition(t, env, api, "PoliciesProgrammed", false, "WriteRefused")
	waitCondition(t, env, api, "Programmed", false, "RouteGuardsUnwritten")
	for range 3 {
		vs := &networkingv1VirtualService{}
		err := env.Client.Get(ctx, client.ObjectKeyFromObject(api), vs)
		require.True(t, apierrors.IsNotFound(err), "a VirtualService while its token checks are refused (%v): gateways %v", err, vs.Spec.Gateways)
		time.Sleep(time.Second)
	}
}

// TestPythonRouteOfFollowerWithdrawn: migrating from the Python operator with
// --internal-segments, every internal API's Python-made gateway VirtualService must leave the
// public gateway; the leader's is rewritten to the mesh route, a follower's must go.
func TestPythonRouteOfFollowerWithdrawn(t *testing.T) {
	ctx := context.Background()
	env, ns := startComponents(t, harness.Generated)
	env.Implementation(t, ns, "impl", 8080, true)
	events := harness.API(ns, "events", "/events", "impl", 8080)
	events.Spec.Segment = odav1.SegmentManagement
	require.NoError(t, env.Client.Create(ctx, events))
	metrics := harness.API(ns, "metrics", "/metrics", "impl", 8080)
	metrics.Spec.Segment = odav1.SegmentManagement
	require.NoError(t, env.Client.Create(ctx, metrics))
	require.NoError(t, env.Client.Create(ctx, pythonVirtualService(events, "/events")))
	require.NoError(t, env.Client.Create(ctx, pythonVirtualService(metrics, "/metrics")))

	harness.StartOperator(t, env, internalSegmentsOptions())
	mesh := "impl." + ns + ".svc.cluster.local"
	virtualService(t, env, events, meshIs(mesh, "impl", meshRoute("metrics", "/metrics", "impl", 8080), meshRoute("events", "/events", "impl", 8080)))
	waitMeshProgrammedBy(t, env, metrics, "events")
	time.Sleep(2 * time.Second)
	vs := &networkingv1VirtualService{}
	err := env.Client.Get(ctx, client.ObjectKeyFromObject(metrics), vs)
	require.Error(t, err, "the follower's Python VirtualService still routes it on the public gateway: %v %v", vs.Spec.Gateways, vs.Spec.Hosts)
}

// TestHTTPRouteLeaderMovedOutRefused: in HTTPRoute mode the oldest internal API moved
// out, whose HTTPRoute the Gateway refuses, keeps its frozen mesh VirtualService while the
// next one makes another for the same host: two mesh VirtualServices for one Service.
func TestHTTPRouteLeaderMovedOutRefused(t *testing.T) {
	ctx := context.Background()
	env := harness.Start(t, harness.Generated, harness.GatewayAPICRDs(t)...)
	ns := env.Namespace(t, "components")
	env.ComponentGateway(t, "canvas", "component-gateway", "30.0.0.1", 80)
	env.Implementation(t, ns, "mgmt", 9090, true)
	o := httpRouteOptions("canvas/component-gateway")
	o.InternalSegments = []string{odav1.SegmentManagement}
	harness.StartOperator(t, env, o)

	a := harness.API(ns, "a", "/a", "mgmt", 9090)
	a.Spec.Segment = odav1.SegmentManagement
	require.NoError(t, env.Client.Create(ctx, a))
	time.Sleep(1100 * time.Millisecond)
	b := harness.API(ns, "b", "/b", "mgmt", 9090)
	b.Spec.Segment = odav1.SegmentManagement
	require.NoError(t, env.Client.Create(ctx, b))
	mesh := "mgmt." + ns + ".svc.cluster.local"
	virtualService(t, env, a, meshIs(mesh, "mgmt", meshRoute("a", "/a", "mgmt", 9090), meshRoute("b", "/b", "mgmt", 9090)))
	waitMeshProgrammedBy(t, env, b, "a")

	env.UpdateAPI(t, a, func(x *odav1.ExposedAPI) { x.Spec.Segment = odav1.SegmentCore })
	httpRoute(t, env, a, anyHTTPRoute)
	env.JudgeRoute(t, client.ObjectKeyFromObject(a), false, "NotAllowedByListeners", "")
	virtualService(t, env, b, meshIs(mesh, "mgmt", meshRoute("b", "/b", "mgmt", 9090)))
	time.Sleep(3 * time.Second)
	var list networkingv1.VirtualServiceList
	require.NoError(t, env.Client.List(ctx, &list, client.InNamespace(ns)))
	var hosts []string
	for _, vs := range list.Items {
		hosts = append(hosts, vs.Name+"="+vs.Spec.Gateways[0]+"/"+vs.Spec.Hosts[0])
	}
	require.Len(t, hosts, 1, "mesh VirtualServices: %v", hosts)
}
