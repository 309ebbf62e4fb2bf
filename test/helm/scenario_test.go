package helm

import (
	"context"
	"fmt"
	"os"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/stretchr/testify/require"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	networkingv1alpha3 "istio.io/client-go/pkg/apis/networking/v1alpha3"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/internal/app"
	"github.com/oda-canvas/api-operator-istio/test/harness"
)

const ns = "components"

// scenario drives the operator through what it does, as a user and the canvas would.
type scenario struct {
	t        *testing.T
	env      *harness.Env
	routeAPI string
	// internal is the internal segment the operator runs with, if any.
	internal string
	comp     *odav1.Component
	a, b     *odav1.ExposedAPI
	m        *odav1.ExposedAPI
	// olds are VirtualServices planted in HTTPRoute mode, which it removes: one of a former
	// VirtualService mode and one the Python operator made, each for its API in oldAPIs.
	olds    []*networkingv1.VirtualService
	oldAPIs []*odav1.ExposedAPI
}

func newScenario(t *testing.T, env *harness.Env, routeAPI string) *scenario {
	env.Gateway(t, "20.0.0.1", "")
	s := &scenario{t: t, env: env, routeAPI: routeAPI}
	if routeAPI == app.HTTPRoute {
		env.ComponentGateway(t, releaseNS, "component-gateway", "20.0.0.1", 80)
		s.plantVirtualService("old", map[string]string{"app.kubernetes.io/managed-by": "api-operator-istio"})
		s.plantVirtualService("py", nil) // the Python operator's carry none of our labels
	}
	env.Implementation(t, ns, "impl", 8080, true)
	env.Pod(t, ns, "impl-0", map[string]string{"app": "impl"})
	comp := &odav1.Component{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "shop"}}
	require.NoError(t, env.Client.Create(context.Background(), comp))
	s.comp = comp
	return s
}

// plantVirtualService makes an API and, before the operator runs, a VirtualService it
// controls with the labels.
func (s *scenario) plantVirtualService(name string, labels map[string]string) {
	api := harness.API(ns, name, "/"+name, "impl", 8080)
	require.NoError(s.t, s.env.Client.Create(context.Background(), api))
	vs := &networkingv1.VirtualService{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels}}
	require.NoError(s.t, controllerutil.SetControllerReference(api, vs, app.Scheme()))
	require.NoError(s.t, s.env.Client.Create(context.Background(), vs))
	s.olds, s.oldAPIs = append(s.olds, vs), append(s.oldAPIs, api)
}

func (s *scenario) owned(name, path, apiType string) *odav1.ExposedAPI {
	return s.ownedIn("", name, path, apiType)
}

// ownedIn is owned, of segment.
func (s *scenario) ownedIn(segment, name, path, apiType string) *odav1.ExposedAPI {
	api := harness.API(ns, name, path, "impl", 8080)
	api.Spec.APIType, api.Spec.Segment = apiType, segment
	api.OwnerReferences = []metav1.OwnerReference{{APIVersion: "oda.tmforum.org/v1", Kind: "Component", Name: "shop", UID: s.comp.UID}}
	require.NoError(s.t, s.env.Client.Create(context.Background(), api))
	return api
}

func (s *scenario) run(pattern string) {
	if pattern == app.ServiceMonitor {
		s.routesAndServiceMonitor()
		return
	}
	s.annotations()
}

func (s *scenario) routesAndServiceMonitor() {
	t, env := s.t, s.env
	s.a, s.b = s.owned("a", "/a", odav1.APITypeOpenAPI), s.owned("b", "/b", odav1.APITypeOpenAPI)
	s.m = s.owned("m", "/metrics", odav1.APITypePrometheus)
	env.PatchComponentStatus(t, s.comp, map[string]any{"coreAPIs": []any{map[string]any{"name": "a", "uid": string(s.a.UID)}}})
	s.accept(s.a, s.b, s.m)
	s.waitCondition(s.a, "Ready", "Ready")
	s.waitCondition(s.b, "Ready", "Ready")
	s.waitCondition(s.m, "Scraping", "ServiceMonitorProgrammed")
	// Nothing else waits on these removals: missing, or refused, they would go unseen. Each
	// waits for the gateway to accept the HTTPRoute that replaces it.
	s.accept(s.oldAPIs...)
	for _, vs := range s.olds {
		s.waitGone(vs)
	}
	harness.Eventually(t, "the Component entry", func() error {
		st := env.ComponentStatus(t, ns, "shop")
		if e := st["coreAPIs"].([]any)[0].(map[string]any); e["url"] != "https://20.0.0.1/a" {
			return fmt.Errorf("entry %v", e)
		}
		return nil
	})
	env.UpdateAPI(t, s.a, func(a *odav1.ExposedAPI) { a.Spec.Port = 8081 })
	harness.Eventually(t, "the route updated", func() error {
		if port := s.routePort(s.a); port != 8081 {
			return fmt.Errorf("port %d", port)
		}
		return nil
	})
	env.UpdateAPI(t, s.m, func(a *odav1.ExposedAPI) { a.Spec.Path = "/prometheus" })
	harness.Eventually(t, "the ServiceMonitor updated", func() error {
		sm := &monitoringv1.ServiceMonitor{}
		if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(s.m), sm); err != nil {
			return err
		}
		if sm.Spec.Endpoints[0].Path != "/prometheus" {
			return fmt.Errorf("path %s", sm.Spec.Endpoints[0].Path)
		}
		return nil
	})
	s.streams()
	s.tokenChecks()
	// b, the newer, moves onto a's route: it loses, and its route is withdrawn.
	env.UpdateAPI(t, s.b, func(b *odav1.ExposedAPI) { b.Spec.Path = "/a" })
	s.waitCondition(s.b, "Accepted", "RouteConflict")
	s.waitGone(s.route("b"))
	if s.internal != "" {
		s.meshRoute()
	}
}

// meshRoute: two internal APIs of one Service share the first one's mesh VirtualService
// (created, then updated); the first made core leaves it to the second (one deleted, one
// created), and gets the route of the route API.
func (s *scenario) meshRoute() {
	i1 := s.ownedIn(s.internal, "i1", "/i1", odav1.APITypeOpenAPI)
	s.waitCondition(i1, "Ready", "Ready")
	i2 := s.ownedIn(s.internal, "i2", "/i2", odav1.APITypeOpenAPI)
	s.waitCondition(i1, "Ready", "Ready")
	s.waitCondition(i2, "Ready", "Ready")
	mesh := &networkingv1.VirtualService{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "i1"}}
	s.env.UpdateAPI(s.t, i1, func(a *odav1.ExposedAPI) { a.Spec.Segment = odav1.SegmentCore })
	s.accept(i1)
	s.waitCondition(i1, "Ready", "Ready")
	s.waitGone(mesh)
	harness.Eventually(s.t, "the mesh VirtualService of i2", func() error {
		return s.env.Client.Get(context.Background(), client.ObjectKeyFromObject(i2), &networkingv1.VirtualService{})
	})
}

// route is an empty route object of the scenario's route API.
func (s *scenario) route(name string) client.Object {
	meta := metav1.ObjectMeta{Namespace: ns, Name: name}
	if s.routeAPI == app.HTTPRoute {
		return &gatewayv1.HTTPRoute{ObjectMeta: meta}
	}
	return &networkingv1.VirtualService{ObjectMeta: meta}
}

// routePort is the backend port of the API's route, 0 while it has none.
func (s *scenario) routePort(api *odav1.ExposedAPI) int {
	obj := s.route(api.Name)
	if err := s.env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), obj); err != nil {
		return 0
	}
	if hr, ok := obj.(*gatewayv1.HTTPRoute); ok {
		return int(*hr.Spec.Rules[0].BackendRefs[0].Port)
	}
	return int(obj.(*networkingv1.VirtualService).Spec.Http[0].Route[0].Destination.Port.GetNumber())
}

// accept plays the gateway in HTTPRoute mode: it accepts the APIs' routes.
func (s *scenario) accept(apis ...*odav1.ExposedAPI) {
	if s.routeAPI != app.HTTPRoute {
		return
	}
	for _, api := range apis {
		harness.Eventually(s.t, "HTTPRoute "+api.Name, func() error {
			return s.env.Client.Get(context.Background(), client.ObjectKeyFromObject(api), &gatewayv1.HTTPRoute{})
		})
		s.env.JudgeRoute(s.t, client.ObjectKeyFromObject(api), true, "Accepted", "")
	}
}

// streams: an mcp API gets a DestinationRule, updated with its port and removed when it
// is no longer mcp.
func (s *scenario) streams() {
	t, env := s.t, s.env
	api := s.owned("mcp", "/mcp", odav1.APITypeMCP)
	port := func(want uint32) func() error {
		return func() error {
			dr := &networkingv1.DestinationRule{}
			if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(api), dr); err != nil {
				return err
			}
			if got := dr.Spec.TrafficPolicy.PortLevelSettings[0].Port.GetNumber(); got != want {
				return fmt.Errorf("port %d", got)
			}
			return nil
		}
	}
	harness.Eventually(t, "the DestinationRule", port(8080))
	env.UpdateAPI(t, api, func(a *odav1.ExposedAPI) { a.Spec.Port = 8081 })
	harness.Eventually(t, "the DestinationRule updated", port(8081))
	env.UpdateAPI(t, api, func(a *odav1.ExposedAPI) { a.Spec.APIType = odav1.APITypeOpenAPI })
	s.waitGone(&networkingv1.DestinationRule{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "mcp"}})
}

// tokenChecks: an API with apiKeyVerification and rateLimit gets token checks and a rate
// limit on the gateway, changed with its spec, and removed with the blocks.
func (s *scenario) tokenChecks() {
	t, env := s.t, s.env
	api := s.owned("secured", "/secured", odav1.APITypeOpenAPI)
	env.UpdateAPI(t, api, func(a *odav1.ExposedAPI) {
		a.Spec.APIKeyVerification = &odav1.APIKeyVerification{Enabled: ptr.To(true), Location: "X-API-Key"}
		a.Spec.RateLimit = &odav1.RateLimit{Enabled: ptr.To(true), Limit: "10"}
	})
	key := client.ObjectKey{Namespace: "istio-system", Name: ns + ".secured"}
	if s.routeAPI == app.HTTPRoute {
		// Beside the Gateway API Gateway, which Istio's targetRefs must share a namespace with.
		key.Namespace = releaseNS
	}
	harness.Eventually(t, "the token checks", func() error {
		ra := &securityv1.RequestAuthentication{}
		if err := env.Client.Get(context.Background(), key, ra); err != nil {
			return err
		}
		// A local rate limit needs a VirtualService route to patch: none in HTTPRoute mode.
		if err := env.Client.Get(context.Background(), key, &networkingv1alpha3.EnvoyFilter{}); s.routeAPI != app.HTTPRoute && err != nil {
			return err
		}
		return env.Client.Get(context.Background(), key, &securityv1.AuthorizationPolicy{})
	})
	env.UpdateAPI(t, api, func(a *odav1.ExposedAPI) { a.Spec.APIKeyVerification.Location, a.Spec.Path = "?apikey", "/safe" })
	harness.Eventually(t, "the token checks updated", func() error {
		ap := &securityv1.AuthorizationPolicy{}
		if err := env.Client.Get(context.Background(), key, ap); err != nil {
			return err
		}
		if got := ap.Spec.Rules[0].To[0].Operation.Paths; len(got) != 1 || got[0] != "/safe*" {
			return fmt.Errorf("paths %v", got)
		}
		return nil
	})
	env.UpdateAPI(t, api, func(a *odav1.ExposedAPI) { a.Spec.APIKeyVerification, a.Spec.RateLimit = nil, nil })
	s.waitGone(&networkingv1alpha3.EnvoyFilter{ObjectMeta: metav1.ObjectMeta{Namespace: "istio-system", Name: key.Name}})
	s.waitGone(&securityv1.RequestAuthentication{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}})
	s.waitGone(&securityv1.AuthorizationPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}})
}

func (s *scenario) annotations() {
	t, env := s.t, s.env
	s.waitGone(&monitoringv1.ServiceMonitor{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "m"}})
	waitPodAnnotation(t, env, "impl-0", "prometheus.io/scrape", "true")
	require.NoError(t, env.Client.Delete(context.Background(), s.m))
	s.waitGone(s.m)
}

func (s *scenario) waitCondition(api *odav1.ExposedAPI, typ, reason string) {
	s.env.WaitAPI(s.t, api, typ+" "+reason, func(got *odav1.ExposedAPI) error {
		if c := meta.FindStatusCondition(got.Status.Conditions, typ); c == nil || c.Reason != reason {
			return fmt.Errorf("condition %+v", c)
		}
		return nil
	})
}

func (s *scenario) waitGone(obj client.Object) {
	harness.Eventually(s.t, fmt.Sprintf("%T %s gone", obj, obj.GetName()), func() error {
		err := s.env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), obj)
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("still there (%v)", err)
	})
}

func readFile(t *testing.T, path string) []byte {
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	return raw
}
