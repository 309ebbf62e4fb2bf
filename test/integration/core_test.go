package integration

import (
	"context"
	"fmt"
	"testing"

	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// virtualService waits for the API's VirtualService and returns it.
func virtualService(t *testing.T, env *harness.Env, api *odav1.ExposedAPI, check func(*networkingv1.VirtualService) error) *networkingv1.VirtualService {
	t.Helper()
	return waitChild(t, env, api, &networkingv1.VirtualService{}, check)
}

// waitChild waits until the API's child of obj's kind passes check, and returns it.
func waitChild[T client.Object](t *testing.T, env *harness.Env, api *odav1.ExposedAPI, obj T, check func(T) error) T {
	t.Helper()
	harness.Eventually(t, fmt.Sprintf("%T %s", obj, api.Name), func() error {
		if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(api), obj); err != nil {
			return err
		}
		return check(obj)
	})
	return obj
}

func routeIs(host, gateway, path, dest string, port uint32) func(*networkingv1.VirtualService) error {
	return func(vs *networkingv1.VirtualService) error {
		got := fmt.Sprintf("%v %v", vs.Spec.Hosts, vs.Spec.Gateways)
		if want := fmt.Sprintf("[%s] [%s]", host, gateway); got != want {
			return fmt.Errorf("hosts and gateways %s, want %s", got, want)
		}
		if len(vs.Spec.Http) != 1 || len(vs.Spec.Http[0].Match) != 1 || len(vs.Spec.Http[0].Route) != 1 {
			return fmt.Errorf("want exactly one http route with one match and one destination, got %v", vs.Spec.Http)
		}
		h := vs.Spec.Http[0]
		got = fmt.Sprintf("%s -> %s:%d", h.Match[0].Uri.GetPrefix(), h.Route[0].Destination.Host, h.Route[0].Destination.Port.GetNumber())
		if want := fmt.Sprintf("%s -> %s:%d", path, dest, port); got != want {
			return fmt.Errorf("route %s, want %s", got, want)
		}
		return nil
	}
}

func TestVirtualServiceLifecycle(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		ctx := context.Background()
		env, ns := startComponents(t, set)
		env.Implementation(t, ns, "catalog", 8080, true)
		env.Implementation(t, ns, "catalog-v2", 9090, true)
		op := harness.StartOperator(t, env, harness.DefaultOptions())

		api := harness.API(ns, "catalog-api", "/catalog/tmf620/", "catalog", 8080)
		require.NoError(t, env.Client.Create(ctx, api))

		vs := virtualService(t, env, api, routeIs("*", "component-gateway", "/catalog/tmf620", "catalog", 8080))
		owner := metav1.GetControllerOf(vs)
		require.NotNil(t, owner, "the VirtualService has a controller ownerReference")
		assert.Equal(t, "ExposedAPI", owner.Kind)
		assert.Equal(t, api.UID, owner.UID)
		assert.Equal(t, "oda.tmforum.org/v1", owner.APIVersion)
		firstUID := vs.UID

		// Change path, port and implementation: the same VirtualService is updated in place.
		env.UpdateAPI(t, api, func(api *odav1.ExposedAPI) {
			api.Spec.Path, api.Spec.Port, api.Spec.Implementation = "/catalog/v5", 9090, "catalog-v2"
		})
		vs = virtualService(t, env, api, routeIs("*", "component-gateway", "/catalog/v5", "catalog-v2", 9090))
		assert.Equal(t, firstUID, vs.UID, "updated in place, not recreated")

		api = waitReady(t, env, api, "https://20.0.0.1/catalog/v5")
		assert.Equal(t, string(vs.UID), api.Status.APIStatus.UID)

		assertNoWritesOnResync(t, env, op, api)
	})
}

// waitReady waits until the API is Ready with the given URL and returns it.
func waitReady(t *testing.T, env *harness.Env, api *odav1.ExposedAPI, url string) *odav1.ExposedAPI {
	t.Helper()
	return env.WaitAPI(t, api, "ready at "+url, func(got *odav1.ExposedAPI) error { return statusIs(got, url, true) })
}

func statusIs(api *odav1.ExposedAPI, url string, ready bool) error {
	s := api.Status
	if s.APIStatus == nil || s.APIStatus.URL != url {
		return fmt.Errorf("apiStatus %+v, want url %q", s.APIStatus, url)
	}
	if s.Implementation == nil || s.Implementation.Ready != ready {
		return fmt.Errorf("implementation %+v, want ready=%v", s.Implementation, ready)
	}
	c := readyCondition(api)
	if c == nil || (c.Status == metav1.ConditionTrue) != ready {
		return fmt.Errorf("Ready condition %+v, want %v", c, ready)
	}
	if c.ObservedGeneration != api.Generation {
		return fmt.Errorf("Ready condition observed generation %d, object at %d", c.ObservedGeneration, api.Generation)
	}
	return nil
}

func readyCondition(api *odav1.ExposedAPI) *metav1.Condition {
	for i := range api.Status.Conditions {
		if api.Status.Conditions[i].Type == "Ready" {
			return &api.Status.Conditions[i]
		}
	}
	return nil
}

// assertNoWritesOnResync makes the operator reconcile the converged API again (an
// annotation change reaches the reconciler but changes nothing it decides on) and asserts
// that it wrote nothing at all. The reconciles are settled before the writes are counted
// and again before they are compared, so the reconcile seen is the resync's own and not a
// straggler from converging, and whatever it set off is in the count.
func assertNoWritesOnResync(t *testing.T, env *harness.Env, op *harness.Operator, api *odav1.ExposedAPI) {
	t.Helper()
	before := settledReconciles(t, quiet, "exposedapi")
	writes, _ := op.Requests().Writes()
	resyncFrom(t, env, before, api)
	after, paths := op.Requests().Writes()
	assert.Equal(t, writes, after, "no write on an unchanged ExposedAPI; writes: %v", paths[writes:])
}

// TestAdoptsTheReferenceOperatorsVirtualService: a VirtualService the Python operator made
// (owned by the ExposedAPI, without our label, so outside our cache) is taken over in place.
func TestAdoptsTheReferenceOperatorsVirtualService(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		ctx := context.Background()
		env := harness.Start(t, set)
		ns := env.Namespace(t, "components")
		env.Gateway(t, "20.0.0.1", "")
		env.Implementation(t, ns, "impl", 8080, true)
		api := harness.API(ns, "legacy", "/legacy", "impl", 8080)
		require.NoError(t, env.Client.Create(ctx, api))
		old := &networkingv1.VirtualService{}
		old.Namespace, old.Name = ns, "legacy"
		old.Spec.Hosts, old.Spec.Gateways = []string{"*"}, []string{"component-gateway"}
		// kopf.adopt makes the owner the controller, as here.
		old.OwnerReferences = []metav1.OwnerReference{{APIVersion: "oda.tmforum.org/v1", Kind: "ExposedAPI", Name: api.Name, UID: api.UID, Controller: ptr.To(true)}}
		require.NoError(t, env.Client.Create(ctx, old))

		harness.StartOperator(t, env, harness.DefaultOptions())
		vs := virtualService(t, env, api, routeIs("*", "component-gateway", "/legacy", "impl", 8080))
		assert.Equal(t, old.UID, vs.UID, "updated in place")
		assert.Equal(t, "api-operator-istio", vs.Labels["app.kubernetes.io/managed-by"])
		waitReady(t, env, api, "https://20.0.0.1/legacy")
	})
}
