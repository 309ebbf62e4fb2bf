package integration

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// waitCondition waits until the API's condition has the status and reason, and returns its
// message.
func waitCondition(t *testing.T, env *harness.Env, api *odav1.ExposedAPI, typ string, status bool, reason string) string {
	t.Helper()
	var msg string
	env.WaitAPI(t, api, fmt.Sprintf("%s=%v %s", typ, status, reason), func(got *odav1.ExposedAPI) error {
		c := meta.FindStatusCondition(got.Status.Conditions, typ)
		if c == nil || (c.Status == "True") != status || c.Reason != reason {
			return fmt.Errorf("condition %+v", c)
		}
		msg = c.Message
		return nil
	})
	return msg
}

func TestNotReadyReasons(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		ctx := context.Background()
		env := harness.Start(t, set)
		ns := env.Namespace(t, "components")
		env.Implementation(t, ns, "down", 8080, false)
		harness.StartOperator(t, env, harness.DefaultOptions())

		api := harness.API(ns, "waiting", "/waiting", "down", 8080)
		require.NoError(t, env.Client.Create(ctx, api))
		msg := waitCondition(t, env, api, "Ready", false, "NoIngressAddress")
		assert.Contains(t, msg, "no Service labelled istio=ingressgateway")
		// As the canvas's Kong and APISIX charts leave it: no address will come.
		gw := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: env.Namespace(t, "istio-system"), Name: "istio-ingressgateway",
			Labels: map[string]string{"istio": "ingressgateway"}},
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, Ports: []corev1.ServicePort{{Name: "http2", Port: 80}}}}
		require.NoError(t, env.Client.Create(ctx, gw))
		harness.Eventually(t, "the message names the Service's type", func() error {
			return messageHas(env, api, "Ready", "Service istio-system/istio-ingressgateway is of type ClusterIP, which gets no load balancer address")
		})
		gw.Spec.Type = corev1.ServiceTypeLoadBalancer
		require.NoError(t, env.Client.Update(ctx, gw))
		harness.Eventually(t, "the message says the address is awaited", func() error {
			return messageHas(env, api, "Ready", "Service istio-system/istio-ingressgateway has no load balancer address yet")
		})
		env.Gateway(t, "20.0.0.1", "")
		assert.Equal(t, "Service down has no ready endpoint", waitCondition(t, env, api, "Ready", false, "ImplementationNotReady"))
		env.SetReady(t, ns, "down", true)
		waitCondition(t, env, api, "Ready", true, "Ready")

		// A spec the webhook would have refused (it was bypassed) is reported, not applied.
		bad := harness.API(ns, "bad-port", "/bad", "down", 8080)
		bad.Spec.Port = 70000
		require.NoError(t, env.Client.Create(ctx, bad))
		assert.Equal(t, "spec.port: Invalid value: 70000: must be a port number from 1 to 65535",
			waitCondition(t, env, bad, "Accepted", false, "InvalidSpec"))
		waitCondition(t, env, bad, "Ready", false, "NotAccepted")
		err := env.Client.Get(ctx, client.ObjectKeyFromObject(bad), &networkingv1VirtualService{})
		assert.True(t, isNotFound(err), "no route for an invalid spec: %v", err)

		// A VirtualService of the same name that someone else made is never overwritten.
		foreign := &networkingv1VirtualService{}
		foreign.Namespace, foreign.Name = ns, "taken"
		foreign.Spec.Hosts = []string{"other.example.com"}
		require.NoError(t, env.Client.Create(ctx, foreign))
		taken := harness.API(ns, "taken", "/taken", "down", 8080)
		require.NoError(t, env.Client.Create(ctx, taken))
		waitCondition(t, env, taken, "Programmed", false, "VirtualServiceNotOwned")
		require.NoError(t, env.Client.Get(ctx, client.ObjectKeyFromObject(foreign), foreign))
		assert.Equal(t, []string{"other.example.com"}, foreign.Spec.Hosts)
	})
}

// messageHas is nil when the API's condition typ says want.
func messageHas(env *harness.Env, api *odav1.ExposedAPI, typ, want string) error {
	got := &odav1.ExposedAPI{}
	if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(api), got); err != nil {
		return err
	}
	if c := meta.FindStatusCondition(got.Status.Conditions, typ); c == nil || !strings.Contains(c.Message, want) {
		return fmt.Errorf("condition %+v", c)
	}
	return nil
}

func assertEvent(t *testing.T, env *harness.Env, ns, regarding, reason string) {
	t.Helper()
	harness.Eventually(t, "event "+reason+" for "+regarding, func() error {
		n, err := eventCount(env, ns, regarding, reason)
		if err == nil && n == 0 {
			err = fmt.Errorf("no event %s for %s", reason, regarding)
		}
		return err
	})
}

// assertWarning is assertEvent for a refusal: its Events are Warnings.
func assertWarning(t *testing.T, env *harness.Env, ns, regarding, reason string) {
	t.Helper()
	assertEvent(t, env, ns, regarding, reason)
	var list eventsv1.EventList
	require.NoError(t, env.Client.List(context.Background(), &list, client.InNamespace(ns)))
	for _, e := range list.Items {
		if e.Regarding.Name == regarding && e.Reason == reason {
			assert.Equal(t, "Warning", e.Type, "event %s for %s", reason, regarding)
		}
	}
}

// eventCount is the number of Events of reason about the object named regarding.
func eventCount(env *harness.Env, ns, regarding, reason string) (int, error) {
	var list eventsv1.EventList
	if err := env.Client.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
		return 0, err
	}
	n := 0
	for _, e := range list.Items {
		if e.Regarding.Name == regarding && e.Reason == reason {
			n++
		}
	}
	return n, nil
}

func TestTwoAPIsShareOneImplementation(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		ctx := context.Background()
		env, ns := startComponents(t, set)
		env.Implementation(t, ns, "shared", 8080, false)
		harness.StartOperator(t, env, harness.DefaultOptions())
		a, b := harness.API(ns, "a", "/a", "shared", 8080), harness.API(ns, "b", "/b", "shared", 8080)
		require.NoError(t, env.Client.Create(ctx, a))
		require.NoError(t, env.Client.Create(ctx, b))
		for _, ready := range []bool{false, true, false, true} {
			env.SetReady(t, ns, "shared", ready)
			for _, api := range []*odav1.ExposedAPI{a, b} {
				env.WaitAPI(t, api, fmt.Sprintf("ready=%v", ready), func(got *odav1.ExposedAPI) error {
					return statusIs(got, "https://20.0.0.1/"+api.Name, ready)
				})
			}
		}
		// The Service's slices go away: not ready.
		require.NoError(t, env.Client.DeleteAllOf(ctx, &discoveryEndpointSlice{}, client.InNamespace(ns)))
		waitCondition(t, env, a, "Ready", false, "ImplementationNotReady")
		waitCondition(t, env, b, "Ready", false, "ImplementationNotReady")
	})
}

// TestRouteConflict: several ExposedAPIs race for one gateway + host + path. Exactly one
// VirtualService routes it, the oldest claimant's; the others say who owns it; when the
// owner goes, the next oldest takes the route over.
func TestRouteConflict(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		ctx := context.Background()
		env := harness.Start(t, set)
		nsA, nsB := env.Namespace(t, "team-a"), env.Namespace(t, "team-b")
		env.Gateway(t, "20.0.0.1", "")
		harness.StartOperator(t, env, harness.DefaultOptions())

		claimants := []*odav1.ExposedAPI{
			harness.API(nsA, "one", "/shared", "impl", 8080),
			harness.API(nsB, "two", "/shared/", "impl", 8080), // the same route once normalised
			harness.API(nsA, "three", "//shared", "impl", 8080),
		}
		var wg sync.WaitGroup
		for _, api := range claimants {
			wg.Add(1)
			go func() { defer wg.Done(); assert.NoError(t, env.Client.Create(ctx, api)) }()
		}
		wg.Wait()
		for len(claimants) > 0 {
			winner := oldest(t, env, claimants)
			virtualService(t, env, winner, routeIs("*", "component-gateway", "/shared", "impl", 8080))
			for _, api := range claimants {
				if api == winner {
					continue
				}
				// The message names the current owner: after an owner goes, the losers'
				// conditions change owner with the same reason, so wait for the name.
				owner := "ExposedAPI " + winner.Namespace + "/" + winner.Name
				env.WaitAPI(t, api, "RouteConflict naming "+owner, func(got *odav1.ExposedAPI) error {
					c := meta.FindStatusCondition(got.Status.Conditions, "Accepted")
					if c == nil || c.Status != metav1.ConditionFalse || c.Reason != "RouteConflict" || !strings.Contains(c.Message, owner) {
						return fmt.Errorf("condition %+v", c)
					}
					return nil
				})
				harness.Eventually(t, "no VirtualService for loser "+api.Name, func() error {
					err := env.Client.Get(ctx, client.ObjectKeyFromObject(api), &networkingv1VirtualService{})
					if !isNotFound(err) {
						return fmt.Errorf("loser %s has a VirtualService (err %v)", api.Name, err)
					}
					return nil
				})
			}
			require.NoError(t, env.Client.Delete(ctx, winner))
			claimants = without(claimants, winner)
		}
	})
}

// oldest is the claimant the rule picks: creation time, then namespace/name.
func oldest(t *testing.T, env *harness.Env, apis []*odav1.ExposedAPI) *odav1.ExposedAPI {
	t.Helper()
	var best *odav1.ExposedAPI
	for _, api := range apis {
		require.NoError(t, env.Client.Get(context.Background(), client.ObjectKeyFromObject(api), api))
		if best == nil || api.CreationTimestamp.Before(&best.CreationTimestamp) ||
			(api.CreationTimestamp.Equal(&best.CreationTimestamp) && api.Namespace+"/"+api.Name < best.Namespace+"/"+best.Name) {
			best = api
		}
	}
	return best
}

func without(apis []*odav1.ExposedAPI, drop *odav1.ExposedAPI) []*odav1.ExposedAPI {
	var out []*odav1.ExposedAPI
	for _, a := range apis {
		if a != drop {
			out = append(out, a)
		}
	}
	return out
}

// servingRoute waits until the API's Accepted condition has reason, and then until exactly
// the named VirtualServices in ns serve path (any host).
func servingRoute(t *testing.T, env *harness.Env, ns, path string, want []string, api *odav1.ExposedAPI, reason string) {
	t.Helper()
	waitCondition(t, env, api, "Accepted", reason == "Valid", reason)
	harness.Eventually(t, fmt.Sprintf("%s served by %v", path, want), func() error {
		var list networkingv1VirtualServiceList
		if err := env.Client.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
			return err
		}
		var serving []string
		for _, vs := range list.Items {
			if len(vs.Spec.Http) > 0 && len(vs.Spec.Http[0].Match) > 0 && vs.Spec.Http[0].Match[0].Uri.GetPrefix() == path {
				serving = append(serving, vs.Name)
			}
		}
		if fmt.Sprint(serving) != fmt.Sprint(want) {
			return fmt.Errorf("served by %v", serving)
		}
		return nil
	})
}

// TestRouteOwnedByWhatRoutes (R2.3, webhooks off): ownership is decided among the specs
// that can route plus the route an invalid API's kept VirtualService still serves, so that
// exactly one VirtualService routes each path.
func TestRouteOwnedByWhatRoutes(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		ctx := context.Background()
		env, ns := startComponents(t, set)
		harness.StartOperator(t, env, harness.DefaultOptions())

		// An API whose spec became invalid keeps its VirtualService, and with it the route.
		kept := harness.API(ns, "kept", "/x", "impl", 8080)
		require.NoError(t, env.Client.Create(ctx, kept))
		servingRoute(t, env, ns, "/x", []string{"kept"}, kept, "Valid")
		env.UpdateAPI(t, kept, func(a *odav1.ExposedAPI) { a.Spec.Path, a.Spec.Port = "/y", 0 })
		waitCondition(t, env, kept, "Accepted", false, "InvalidSpec")
		newcomer := harness.API(ns, "newcomer", "/x", "impl", 8080)
		require.NoError(t, env.Client.Create(ctx, newcomer))
		assert.Contains(t, waitCondition(t, env, newcomer, "Accepted", false, "RouteConflict"), "ExposedAPI "+ns+"/kept")
		servingRoute(t, env, ns, "/x", []string{"kept"}, newcomer, "RouteConflict")
		// Fixed, it moves to /y and /x passes to the newcomer.
		env.UpdateAPI(t, kept, func(a *odav1.ExposedAPI) { a.Spec.Port = 8080 })
		virtualService(t, env, kept, routeIs("*", "component-gateway", "/y", "impl", 8080))
		servingRoute(t, env, ns, "/x", []string{"newcomer"}, newcomer, "Valid")

		// An older API whose spec cannot route, and has no VirtualService, owns nothing.
		early := harness.API(ns, "early", "/z", "impl", 8080)
		early.Spec.Port = 0
		require.NoError(t, env.Client.Create(ctx, early))
		waitCondition(t, env, early, "Accepted", false, "InvalidSpec")
		late := harness.API(ns, "late", "/z", "impl", 8080)
		require.NoError(t, env.Client.Create(ctx, late))
		servingRoute(t, env, ns, "/z", []string{"late"}, late, "Valid")
		// Once it can route, the oldest valid claim wins and the other's route is withdrawn.
		env.UpdateAPI(t, early, func(a *odav1.ExposedAPI) { a.Spec.Port = 8080 })
		servingRoute(t, env, ns, "/z", []string{"early"}, late, "RouteConflict")

		// An invalid API's kept route is withdrawn when an older valid claim takes it.
		env.UpdateAPI(t, late, func(a *odav1.ExposedAPI) { a.Spec.Path = "/w" })
		servingRoute(t, env, ns, "/w", []string{"late"}, late, "Valid")
		env.UpdateAPI(t, late, func(a *odav1.ExposedAPI) { a.Spec.Port = 0 })
		waitCondition(t, env, late, "Accepted", false, "InvalidSpec")
		env.UpdateAPI(t, early, func(a *odav1.ExposedAPI) { a.Spec.Path = "/w" })
		servingRoute(t, env, ns, "/w", []string{"early"}, early, "Valid")
		waitCondition(t, env, late, "Programmed", false, "NotAccepted")
	})
}

// TestInvalidSpecWithoutItsRoute (R4.1, R5.1, webhooks off): an API whose spec became
// invalid keeps its last route, and the status describes it; once that route is gone (a
// hand deleted it), the status and the Component entry give no URL to reach it at.
func TestInvalidSpecWithoutItsRoute(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		ctx := context.Background()
		env, ns := startWithImpl(t, set)
		comp := &odav1.Component{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "shop"}}
		require.NoError(t, env.Client.Create(ctx, comp))
		api := ownedAPI(ns, "kept", "/kept", "impl", "", "shop", comp.UID)
		require.NoError(t, env.Client.Create(ctx, api))
		env.PatchComponentStatus(t, comp, map[string]any{"coreAPIs": []any{map[string]any{"name": "kept", "uid": string(api.UID)}}})
		waitEntry(t, env, ns, "shop", "coreAPIs", api, "https://20.0.0.1/kept", true)

		env.UpdateAPI(t, api, func(a *odav1.ExposedAPI) { a.Spec.Port = 0 })
		waitCondition(t, env, api, "Accepted", false, "InvalidSpec")
		waitCondition(t, env, api, "Programmed", true, "VirtualServiceProgrammed")
		vs := virtualService(t, env, api, routeIs("*", "component-gateway", "/kept", "impl", 8080))
		waitEntry(t, env, ns, "shop", "coreAPIs", api, "https://20.0.0.1/kept", true)

		require.NoError(t, env.Client.Delete(ctx, vs))
		waitCondition(t, env, api, "Programmed", false, "NotAccepted")
		env.WaitAPI(t, api, "no apiStatus", func(got *odav1.ExposedAPI) error {
			if got.Status.APIStatus != nil {
				return fmt.Errorf("apiStatus %+v describes a route that is gone", got.Status.APIStatus)
			}
			return nil
		})
		waitNoURL(t, env, ns, "shop", api, true)
	})
}
