package integration

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/internal/app"
	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// httpRouteOptions are the default options in HTTPRoute mode on Gateway gateway.
func httpRouteOptions(gateway string) *app.Options {
	o := harness.DefaultOptions()
	o.RouteAPI, o.ComponentGateway = app.HTTPRoute, gateway
	return o
}

// httpRoute waits for the API's HTTPRoute and returns it.
func httpRoute(t *testing.T, env *harness.Env, api *odav1.ExposedAPI, check func(*gatewayv1.HTTPRoute) error) *gatewayv1.HTTPRoute {
	t.Helper()
	return waitChild(t, env, api, &gatewayv1.HTTPRoute{}, check)
}

func anyHTTPRoute(*gatewayv1.HTTPRoute) error { return nil }

// wantedHTTPRoute is the HTTPRoute spec of an API on Gateway gwNS/gwName.
func wantedHTTPRoute(gwNS, gwName, path, backend string, port int32, hosts ...gatewayv1.Hostname) gatewayv1.HTTPRouteSpec {
	return gatewayv1.HTTPRouteSpec{
		CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{{
			Group: ptr.To(gatewayv1.Group("gateway.networking.k8s.io")), Kind: ptr.To(gatewayv1.Kind("Gateway")),
			Namespace: ptr.To(gatewayv1.Namespace(gwNS)), Name: gatewayv1.ObjectName(gwName),
		}}},
		Hostnames: hosts,
		Rules: []gatewayv1.HTTPRouteRule{{
			Matches: []gatewayv1.HTTPRouteMatch{{Path: &gatewayv1.HTTPPathMatch{Type: ptr.To(gatewayv1.PathMatchPathPrefix), Value: ptr.To(path)}}},
			BackendRefs: []gatewayv1.HTTPBackendRef{{BackendRef: gatewayv1.BackendRef{
				BackendObjectReference: gatewayv1.BackendObjectReference{
					Group: ptr.To(gatewayv1.Group("")), Kind: ptr.To(gatewayv1.Kind("Service")),
					Name: gatewayv1.ObjectName(backend), Port: ptr.To(port),
				},
				Weight: ptr.To(int32(1)),
			}}},
		}},
	}
}

// TestHTTPRoute: in HTTPRoute mode an API gets exactly the HTTPRoute it asks for, Ready
// follows the gateway's verdict on it, and the URL the Gateway's address.
func TestHTTPRoute(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		ctx := context.Background()
		env := harness.Start(t, set, harness.GatewayAPICRDs(t)...)
		ns := env.Namespace(t, "components")
		env.Gateway(t, "20.0.0.1", "") // Istio's ingress Service: not what this mode reads
		env.ComponentGateway(t, "canvas", "component-gateway", "30.0.0.1", 8080)
		env.Implementation(t, ns, "catalog", 8080, true)
		o := httpRouteOptions("canvas/component-gateway")
		o.RefusedRetry = time.Second
		op := harness.StartOperator(t, env, o)

		api := harness.API(ns, "catalog-api", "/catalog/tmf620/", "catalog", 8080)
		api.Spec.Hostname = "shop.example.com"
		require.NoError(t, env.Client.Create(ctx, api))
		hr := httpRoute(t, env, api, anyHTTPRoute)
		assert.Equal(t, wantedHTTPRoute("canvas", "component-gateway", "/catalog/tmf620", "catalog", 8080, "shop.example.com"), hr.Spec)
		assert.Equal(t, map[string]string{"app.kubernetes.io/managed-by": "api-operator-istio", odav1.ComponentNameLabel: "demo"}, hr.Labels)
		owner := metav1.GetControllerOf(hr)
		require.NotNil(t, owner, "the HTTPRoute has a controller ownerReference")
		assert.Equal(t, [3]string{"oda.tmforum.org/v1", "ExposedAPI", string(api.UID)}, [3]string{owner.APIVersion, owner.Kind, string(owner.UID)})

		// No gateway has looked at it yet.
		assert.Contains(t, waitCondition(t, env, api, "Programmed", false, "GatewayNotYetAccepted"), "waits for Gateway canvas/component-gateway")
		waitCondition(t, env, api, "Ready", false, "NotProgrammed")

		// The gateway refuses it: not Ready, with the gateway's reason and message.
		env.JudgeRoute(t, client.ObjectKeyFromObject(api), false, "NotAllowedByListeners", "no listener allows routes from namespace components")
		msg := waitCondition(t, env, api, "Programmed", false, "NotAllowedByListeners")
		assert.Equal(t, "Gateway canvas/component-gateway refused HTTPRoute catalog-api (NotAllowedByListeners): no listener allows routes from namespace components", msg)
		assert.Equal(t, msg, waitCondition(t, env, api, "Ready", false, "NotProgrammed"))
		assertEvent(t, env, ns, api.Name, "NotAllowedByListeners")

		// Accepted: programmed and ready, at the Gateway's address and listener port.
		env.JudgeRoute(t, client.ObjectKeyFromObject(api), true, "Accepted", "")
		waitCondition(t, env, api, "Programmed", true, "HTTPRouteAccepted")
		got := waitReady(t, env, api, "https://shop.example.com:8080/catalog/tmf620")
		assert.Equal(t, "30.0.0.1", got.Status.APIStatus.IP)
		assert.Equal(t, string(hr.UID), got.Status.APIStatus.UID)

		// The Gateway moves: the URL follows.
		env.UpdateAPI(t, api, func(a *odav1.ExposedAPI) { a.Spec.Hostname = "" })
		httpRoute(t, env, api, func(hr *gatewayv1.HTTPRoute) error {
			if len(hr.Spec.Hostnames) > 0 {
				return fmt.Errorf("hostnames %v", hr.Spec.Hostnames)
			}
			return nil
		})
		env.JudgeRoute(t, client.ObjectKeyFromObject(api), true, "Accepted", "")
		waitReady(t, env, api, "https://30.0.0.1:8080/catalog/tmf620")
		env.ComponentGateway(t, "canvas", "component-gateway", "gw.example.net", 80)
		waitReady(t, env, api, "https://gw.example.net/catalog/tmf620")

		// A changed spec is written in place; the gateway's verdict is for the old version.
		env.UpdateAPI(t, api, func(a *odav1.ExposedAPI) { a.Spec.Path = "/catalog/v5" })
		hr2 := httpRoute(t, env, api, func(hr *gatewayv1.HTTPRoute) error {
			if got := *hr.Spec.Rules[0].Matches[0].Path.Value; got != "/catalog/v5" {
				return fmt.Errorf("path %s", got)
			}
			return nil
		})
		assert.Equal(t, hr.UID, hr2.UID, "updated in place")
		waitCondition(t, env, api, "Programmed", false, "GatewayNotYetAccepted")
		env.JudgeRoute(t, client.ObjectKeyFromObject(api), true, "Accepted", "")
		api = waitReady(t, env, api, "https://gw.example.net/catalog/v5")

		vs := &networkingv1.VirtualService{}
		assert.True(t, isNotFound(env.Client.Get(ctx, client.ObjectKeyFromObject(api), vs)), "no VirtualService in HTTPRoute mode")
		assertNoWritesOnResync(t, env, op, api)
		assert.Zero(t, countEvents(t, env, ns, api.Name, "GatewayNotYetAccepted"), "a wait for the gateway is not an event")

		// Its HTTPRoute with the operator's label taken off leaves the cache: it is read
		// from the API server and labelled again.
		hr = httpRoute(t, env, api, anyHTTPRoute)
		delete(hr.Labels, "app.kubernetes.io/managed-by")
		require.NoError(t, env.Client.Update(ctx, hr))
		httpRoute(t, env, api, func(hr *gatewayv1.HTTPRoute) error {
			if hr.Labels["app.kubernetes.io/managed-by"] != "api-operator-istio" {
				return fmt.Errorf("labels %v", hr.Labels)
			}
			return nil
		})

		// An HTTPRoute of the same name that someone else made is left alone, and said so.
		taken := &gatewayv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "taken"},
			Spec: wantedHTTPRoute("canvas", "component-gateway", "/mine", "catalog", 8080)}
		require.NoError(t, env.Client.Create(ctx, taken))
		require.NoError(t, env.Client.Create(ctx, harness.API(ns, "taken", "/taken", "catalog", 8080)))
		assert.Equal(t, "HTTPRoute components/taken exists and is not controlled by this ExposedAPI; delete or rename it",
			waitCondition(t, env, harness.API(ns, "taken", "", "", 0), "Programmed", false, "HTTPRouteNotOwned"))
		assertEvent(t, env, ns, "taken", "HTTPRouteNotOwned")
		require.NoError(t, env.Client.Get(ctx, client.ObjectKeyFromObject(taken), taken))
		assert.Equal(t, "/mine", *taken.Spec.Rules[0].Matches[0].Path.Value, "not overwritten")

		// Deleting it wakes nothing (the cache holds the operator's own alone); the API's
		// recheck makes its HTTPRoute.
		require.NoError(t, env.Client.Delete(ctx, taken))
		waitCondition(t, env, harness.API(ns, "taken", "", "", 0), "Programmed", false, "GatewayNotYetAccepted")
	})
}

// TestHTTPRouteUnresolvedRefs (audit finding 5): a route the gateway accepted but whose
// backend it cannot resolve is answered with 500s, so the API is not Ready: Programmed
// carries the gateway's ResolvedRefs reason, a refusal, until the gateway resolves it.
func TestHTTPRouteUnresolvedRefs(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		env, api := catalogOnHTTPRoute(t, set)
		ns := api.Namespace
		key := client.ObjectKeyFromObject(api)
		accepted := harness.RouteCondition(gatewayv1.RouteConditionAccepted, true, "Accepted", "")

		env.WriteRouteConditions(t, key, accepted, harness.RouteCondition(gatewayv1.RouteConditionResolvedRefs, false,
			"BackendNotFound", "service components/catalog has no port 8080"))
		msg := waitCondition(t, env, api, "Programmed", false, "BackendNotFound")
		assert.Equal(t, "Gateway canvas/component-gateway accepted HTTPRoute catalog-api but cannot resolve its references, and answers it with HTTP 500 (BackendNotFound): service components/catalog has no port 8080", msg)
		assert.Equal(t, msg, waitCondition(t, env, api, "Ready", false, "NotProgrammed"))
		assertWarning(t, env, ns, api.Name, "BackendNotFound")

		env.WriteRouteConditions(t, key, accepted, harness.RouteCondition(gatewayv1.RouteConditionResolvedRefs, true, "ResolvedRefs", ""))
		waitCondition(t, env, api, "Programmed", true, "HTTPRouteAccepted")
		waitReady(t, env, api, "https://30.0.0.1/catalog")
	})
}

// TestHTTPRouteGatewayNotFound (audit finding 8): a component Gateway that does not exist
// is for a person to create, not a wait; even a route whose status still says Accepted
// (from a Gateway since deleted) is not Ready without it.
func TestHTTPRouteGatewayNotFound(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		ctx := context.Background()
		env := harness.Start(t, set, harness.GatewayAPICRDs(t)...)
		ns := env.Namespace(t, "components")
		env.Namespace(t, "canvas")
		env.Implementation(t, ns, "catalog", 8080, true)
		harness.StartOperator(t, env, httpRouteOptions("canvas/component-gateway"))
		api := harness.API(ns, "catalog-api", "/catalog", "catalog", 8080)
		require.NoError(t, env.Client.Create(ctx, api))
		httpRoute(t, env, api, anyHTTPRoute)

		msg := waitCondition(t, env, api, "Programmed", false, "GatewayNotFound")
		assert.Equal(t, "Gateway canvas/component-gateway does not exist: create it, or set componentGateway (APIOPERATORISTIO_COMPONENTGATEWAY) to the Gateway the routes attach to", msg)
		assert.Equal(t, msg, waitCondition(t, env, api, "Ready", false, "NotProgrammed"))
		assertWarning(t, env, ns, api.Name, "GatewayNotFound")

		env.ComponentGateway(t, "canvas", "component-gateway", "30.0.0.1", 80)
		waitCondition(t, env, api, "Programmed", false, "GatewayNotYetAccepted")
		env.JudgeRoute(t, client.ObjectKeyFromObject(api), true, "Accepted", "")
		waitReady(t, env, api, "https://30.0.0.1/catalog")

		gw := &gatewayv1.Gateway{ObjectMeta: metav1.ObjectMeta{Namespace: "canvas", Name: "component-gateway"}}
		require.NoError(t, env.Client.Delete(ctx, gw))
		waitCondition(t, env, api, "Programmed", false, "GatewayNotFound")
		waitCondition(t, env, api, "Ready", false, "NotProgrammed")
	})
}

// TestHTTPRouteVerdictOfTheClassController: of the entries several gateway controllers
// write for the component Gateway in a route's status, only that of the controller of the
// Gateway's GatewayClass counts: a former class's stale Accepted=True does not make the
// API Programmed, nor another's refusal unmake it. Without the class, no entry counts and
// the API waits for it; the class, once made, says whose entry counts.
func TestHTTPRouteVerdictOfTheClassController(t *testing.T) {
	env, api := catalogOnHTTPRoute(t, harness.Generated)
	ctx, ns := context.Background(), api.Namespace
	key := client.ObjectKeyFromObject(api)
	const former = gatewayv1.GatewayController("example.com/former-gateway")
	accepted := harness.RouteCondition(gatewayv1.RouteConditionAccepted, true, "Accepted", "")
	waitCondition(t, env, api, "Programmed", false, "GatewayNotYetAccepted")

	// Left by the implementation of the Gateway's former class.
	env.WriteRouteConditionsAs(t, key, former, accepted)
	assert.Never(t, func() bool {
		got := &odav1.ExposedAPI{}
		return env.Client.Get(ctx, key, got) == nil && meta.IsStatusConditionTrue(got.Status.Conditions, "Programmed")
	}, 3*time.Second, 100*time.Millisecond, "Programmed by the former class's entry")

	env.JudgeRoute(t, key, false, "NotAllowedByListeners", "no listener allows routes from namespace components")
	waitCondition(t, env, api, "Programmed", false, "NotAllowedByListeners")
	env.WriteRouteConditionsAs(t, key, former, harness.RouteCondition(gatewayv1.RouteConditionAccepted, false, "NoMatchingParent", "not ours"))
	env.JudgeRoute(t, key, true, "Accepted", "")
	waitCondition(t, env, api, "Programmed", true, "HTTPRouteAccepted")
	waitReady(t, env, api, "https://30.0.0.1/catalog")

	// A class that does not exist: nothing is known to serve the Gateway.
	updateGateway(t, env, func(gw *gatewayv1.Gateway) { gw.Spec.GatewayClassName = "former" })
	msg := waitCondition(t, env, api, "Programmed", false, "GatewayClassNotFound")
	assert.Equal(t, "HTTPRoute catalog-api waits for GatewayClass former of Gateway canvas/component-gateway, which does not exist: no gateway controller is known to serve the Gateway", msg)
	assert.Equal(t, msg, waitCondition(t, env, api, "Ready", false, "NotProgrammed"))
	assert.Zero(t, countEvents(t, env, ns, api.Name, "GatewayClassNotFound"), "a wait for the class is not an event")

	// The class made: its controller's entry is the verdict.
	require.NoError(t, env.Client.Create(ctx, &gatewayv1.GatewayClass{ObjectMeta: metav1.ObjectMeta{Name: "former"},
		Spec: gatewayv1.GatewayClassSpec{ControllerName: former}}))
	assert.Equal(t, "Gateway canvas/component-gateway refused HTTPRoute catalog-api (NoMatchingParent): not ours",
		waitCondition(t, env, api, "Programmed", false, "NoMatchingParent"))
}

// TestRouteAPISwitch: restarted with the other --route-api, the operator makes each API's
// new route before it deletes the old one, both ways; the status describes the old route
// while it is kept.
func TestRouteAPISwitch(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		ctx := context.Background()
		env := harness.Start(t, set, harness.GatewayAPICRDs(t)...)
		ns := env.Namespace(t, "components")
		env.Gateway(t, "20.0.0.1", "")
		env.ComponentGateway(t, ns, "component-gateway", "30.0.0.1", 80)
		env.Implementation(t, ns, "impl", 8080, true)
		api := harness.API(ns, "shop", "/shop", "impl", 8080)
		require.NoError(t, env.Client.Create(ctx, api))

		op := harness.StartOperator(t, env, harness.DefaultOptions())
		vs := virtualService(t, env, api, routeIs("*", "component-gateway", "/shop", "impl", 8080))
		waitReady(t, env, api, "https://20.0.0.1/shop")
		op.Stop()

		// A bare Gateway name is the Gateway of the API's namespace.
		op = harness.StartOperator(t, env, httpRouteOptions("component-gateway"))
		hr := httpRoute(t, env, api, anyHTTPRoute)
		assert.Equal(t, wantedHTTPRoute(ns, "component-gateway", "/shop", "impl", 8080), hr.Spec)
		keeps(t, env, vs, "the VirtualService, while the gateway has not accepted the HTTPRoute")
		// Meanwhile the API is reached through the VirtualService: the status keeps its URL.
		assert.Equal(t, "https://20.0.0.1/shop", apiURL(t, env, api), "the URL while the VirtualService still routes the API")
		env.JudgeRoute(t, client.ObjectKeyFromObject(api), true, "Accepted", "")
		waitGone(t, env, vs)
		assertCreatedBeforeDeleted(t, op, "httproutes", "virtualservices")
		waitReady(t, env, api, "https://30.0.0.1/shop")
		op.Stop()

		op = harness.StartOperator(t, env, harness.DefaultOptions())
		virtualService(t, env, api, routeIs("*", "component-gateway", "/shop", "impl", 8080))
		waitGone(t, env, hr)
		assertCreatedBeforeDeleted(t, op, "virtualservices", "httproutes")
		waitReady(t, env, api, "https://20.0.0.1/shop")
	})
}

// apiURL is the URL in the API's status, "" for none.
func apiURL(t *testing.T, env *harness.Env, api *odav1.ExposedAPI) string {
	t.Helper()
	got := getAPI(t, env, api)
	if got.Status.APIStatus == nil {
		return ""
	}
	return got.Status.APIStatus.URL
}

// keeps asserts that obj is still there a while later: long enough for the reconciles that
// follow a change to have run.
func keeps(t *testing.T, env *harness.Env, obj client.Object, what string) {
	t.Helper()
	assert.Never(t, func() bool {
		return isNotFound(env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), obj.DeepCopyObject().(client.Object)))
	}, 2*time.Second, 100*time.Millisecond, what+" is gone")
}

// assertCreatedBeforeDeleted: the operator created a resource of kind made before it
// deleted one of kind gone, so that no moment is left without a route.
func assertCreatedBeforeDeleted(t *testing.T, op *harness.Operator, made, gone string) {
	t.Helper()
	createdBeforeDeleted(t, op.Requests().All(), made, gone)
}

// createdBeforeDeleted: among reqs, a resource of kind made was created before one of kind
// gone was deleted.
func createdBeforeDeleted(t *testing.T, reqs []*http.Request, made, gone string) {
	t.Helper()
	created, deleted := -1, -1
	for i, r := range reqs {
		a, ok := harness.AccessOf(r)
		switch {
		case !ok:
		case a.Resource == made && r.Method == http.MethodPost && created < 0:
			created = i
		case a.Resource == gone && r.Method == http.MethodDelete && deleted < 0:
			deleted = i
		}
	}
	require.GreaterOrEqual(t, created, 0, "no %s created", made)
	require.GreaterOrEqual(t, deleted, 0, "no %s deleted", gone)
	assert.Less(t, created, deleted, "%s created before %s deleted", made, gone)
}

// TestGatewayAPICRDsAbsent: without the Gateway API CRDs the API says so, keeps its
// VirtualService of a former mode, and gets its HTTPRoute once the CRDs are installed.
func TestGatewayAPICRDsAbsent(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		ctx := context.Background()
		env, ns := startComponents(t, set)
		env.Implementation(t, ns, "impl", 8080, true)
		api := harness.API(ns, "shop", "/shop", "impl", 8080)
		require.NoError(t, env.Client.Create(ctx, api))
		op := harness.StartOperator(t, env, harness.DefaultOptions())
		vs := virtualService(t, env, api, routeIs("*", "component-gateway", "/shop", "impl", 8080))
		op.Stop()

		harness.StartOperator(t, env, httpRouteOptions("canvas/component-gateway"))
		msg := waitCondition(t, env, api, "Programmed", false, "GatewayAPICRDsMissing")
		assert.Contains(t, msg, "install the Gateway API CRDs")
		assertEvent(t, env, ns, api.Name, "GatewayAPICRDsMissing")
		waitCondition(t, env, api, "Ready", false, "NotProgrammed")
		require.NoError(t, env.Client.Get(ctx, client.ObjectKeyFromObject(vs), vs), "the former VirtualService still routes")

		for _, path := range harness.GatewayAPICRDs(t) {
			for _, crd := range harness.ReadCRDs(t, path) {
				require.NoError(t, env.Client.Create(ctx, crd))
			}
		}
		hr := httpRoute(t, env, api, anyHTTPRoute)
		assert.Equal(t, wantedHTTPRoute("canvas", "component-gateway", "/shop", "impl", 8080), hr.Spec)
		keeps(t, env, vs, "the former VirtualService, while no Gateway has accepted the HTTPRoute")
		// The Gateway, made after the start, is watched: its address reaches the URL.
		env.ComponentGateway(t, "canvas", "component-gateway", "", 80)
		env.JudgeRoute(t, client.ObjectKeyFromObject(api), true, "Accepted", "")
		waitGone(t, env, vs)
		waitCondition(t, env, api, "Ready", false, "NoIngressAddress")
		env.ComponentGateway(t, "canvas", "component-gateway", "30.0.0.2", 80)
		waitReady(t, env, api, "https://30.0.0.2/shop")
	})
}

// TestInternalSegmentsInHTTPRouteMode (issue #18): in HTTPRoute mode an API of an internal
// segment keeps the mesh VirtualService and gets no HTTPRoute, a core API gets an HTTPRoute
// and no VirtualService; moving an API in makes its mesh route before its HTTPRoute goes.
func TestInternalSegmentsInHTTPRouteMode(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		ctx := context.Background()
		env := harness.Start(t, set, harness.GatewayAPICRDs(t)...)
		ns := env.Namespace(t, "components")
		env.ComponentGateway(t, "canvas", "component-gateway", "30.0.0.1", 80)
		env.Implementation(t, ns, "core", 8080, true)
		env.Implementation(t, ns, "mgmt", 9090, true)
		o := httpRouteOptions("canvas/component-gateway")
		o.InternalSegments = []string{odav1.SegmentManagement}
		op := harness.StartOperator(t, env, o)

		core := harness.API(ns, "shop-core", "/shop/core", "core", 8080)
		mgmt := harness.API(ns, "shop-mgmt", "/shop/mgmt", "mgmt", 9090)
		mgmt.Spec.Segment = odav1.SegmentManagement
		require.NoError(t, env.Client.Create(ctx, core))
		require.NoError(t, env.Client.Create(ctx, mgmt))

		mesh := "mgmt." + ns + ".svc.cluster.local"
		meshURL := wantStatus{"http://" + mesh + ":9090/shop/mgmt", "", ""}
		vs := virtualService(t, env, mgmt, meshIs(mesh, "mgmt", meshRoute("shop-mgmt", "/shop/mgmt", "mgmt", 9090)))
		waitAPIStatus(t, env, mgmt, meshURL, "Ready")
		hr := httpRoute(t, env, core, anyHTTPRoute)
		assert.Equal(t, wantedHTTPRoute("canvas", "component-gateway", "/shop/core", "core", 8080), hr.Spec)
		env.JudgeRoute(t, client.ObjectKeyFromObject(core), true, "Accepted", "")
		waitReady(t, env, core, "https://30.0.0.1/shop/core")
		assert.True(t, isNotFound(env.Client.Get(ctx, client.ObjectKeyFromObject(mgmt), &gatewayv1.HTTPRoute{})), "no HTTPRoute for an internal API")
		assert.True(t, isNotFound(env.Client.Get(ctx, client.ObjectKeyFromObject(core), &networkingv1.VirtualService{})), "no VirtualService for a core API")

		// Made core: the mesh VirtualService goes at once (the Service is reachable on the
		// mesh without it, and the next internal API's would be beside it), and an HTTPRoute
		// on the component Gateway is made.
		env.UpdateAPI(t, mgmt, func(a *odav1.ExposedAPI) { a.Spec.Segment = odav1.SegmentCore })
		mhr := httpRoute(t, env, mgmt, anyHTTPRoute)
		assert.Equal(t, wantedHTTPRoute("canvas", "component-gateway", "/shop/mgmt", "mgmt", 9090), mhr.Spec)
		waitGone(t, env, vs)
		env.JudgeRoute(t, client.ObjectKeyFromObject(mgmt), true, "Accepted", "")
		waitReady(t, env, mgmt, "https://30.0.0.1/shop/mgmt")

		// Back to management: the mesh VirtualService, then the HTTPRoute goes.
		before := len(op.Requests().All())
		env.UpdateAPI(t, mgmt, func(a *odav1.ExposedAPI) { a.Spec.Segment = odav1.SegmentManagement })
		virtualService(t, env, mgmt, meshIs(mesh, "mgmt", meshRoute("shop-mgmt", "/shop/mgmt", "mgmt", 9090)))
		waitGone(t, env, mhr)
		createdBeforeDeleted(t, op.Requests().All()[before:], "virtualservices", "httproutes")
		waitAPIStatus(t, env, mgmt, meshURL, "Ready")
		require.NoError(t, env.Client.Get(ctx, client.ObjectKeyFromObject(hr), hr), "the core API keeps its HTTPRoute")
	})
}

// catalogOnHTTPRoute starts an operator in HTTPRoute mode on Gateway canvas/component-gateway
// (address 30.0.0.1) and makes API catalog-api on /catalog, returning once its HTTPRoute
// exists.
func catalogOnHTTPRoute(t *testing.T, set harness.CRDSet) (*harness.Env, *odav1.ExposedAPI) {
	t.Helper()
	env := harness.Start(t, set, harness.GatewayAPICRDs(t)...)
	ns := env.Namespace(t, "components")
	env.ComponentGateway(t, "canvas", "component-gateway", "30.0.0.1", 80)
	env.Implementation(t, ns, "catalog", 8080, true)
	harness.StartOperator(t, env, httpRouteOptions("canvas/component-gateway"))
	api := harness.API(ns, "catalog-api", "/catalog", "catalog", 8080)
	require.NoError(t, env.Client.Create(context.Background(), api))
	httpRoute(t, env, api, anyHTTPRoute)
	return env, api
}
