package integration

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/controllers/exposedapi"
	"github.com/oda-canvas/api-operator-istio/internal/app"
	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// TestNamespacePatterns runs the operator with the canvas chart's COMPONENT_NAMESPACE,
// components,odacompns-*: a namespace created after the start that matches the pattern is
// served at once, and nothing of a namespace that matches no entry reaches the caches or
// gets written.
func TestNamespacePatterns(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		ctx := context.Background()
		env := harness.Start(t, set, harness.ServiceMonitorCRD(t))
		env.Gateway(t, "20.0.0.1", "")
		components, other := env.Namespace(t, "components"), env.Namespace(t, "other")
		outside := unservedObjects(t, env, other)
		// A ServiceMonitor the operator made before the switch to annotations: removed where
		// served, never touched elsewhere (checked by writesTo below).
		stale := operatorServiceMonitor(t, env, components, "stale")
		kept := operatorServiceMonitor(t, env, other, "outside")

		o := harness.DefaultOptions()
		o.Namespaces = []string{"components", "odacompns-*"}
		o.OpenMetricsImplementation = app.PrometheusAnnotation // pods are cached too
		op := harness.StartOperator(t, env, o)

		env.Implementation(t, components, "impl", 8080, true)
		first := harness.API(components, "first", "/first", "impl", 8080)
		require.NoError(t, env.Client.Create(ctx, first))
		waitAPIStatus(t, env, first, wantStatus{"https://20.0.0.1/first", "", "20.0.0.1"}, "Ready")

		late := env.Namespace(t, "odacompns-late")
		env.Implementation(t, late, "impl", 8080, true)
		api := harness.API(late, "late", "/late", "impl", 8080)
		require.NoError(t, env.Client.Create(ctx, api))
		virtualService(t, env, api, routeIs("*", "component-gateway", "/late", "impl", 8080))
		waitAPIStatus(t, env, api, wantStatus{"https://20.0.0.1/late", "", "20.0.0.1"}, "Ready")

		got := &odav1.ExposedAPI{}
		require.NoError(t, env.Client.Get(ctx, client.ObjectKeyFromObject(outside), got))
		assert.Nil(t, got.Status.APIStatus, "an API in a namespace no entry matches gets no status")
		assert.Empty(t, got.Finalizers)
		require.NoError(t, cachesHoldOnly(op, "components", "odacompns-late"))
		harness.Eventually(t, "the stale ServiceMonitor removed", func() error {
			if err := env.Client.Get(ctx, client.ObjectKeyFromObject(stale), stale); !isNotFound(err) {
				return fmt.Errorf("still there (%v)", err)
			}
			return nil
		})
		// The removal of other/outside would follow stale's by milliseconds: the object
		// itself, not only the request log at that instant, must show it left alone.
		require.NoError(t, env.Client.Get(ctx, client.ObjectKeyFromObject(kept), kept), "the ServiceMonitor in an unserved namespace stays")
		for _, w := range writesTo(op, other) {
			t.Errorf("the operator wrote in an unserved namespace: %s", w)
		}

		// The namespace goes, as the namespace controller (not in this control plane) takes
		// it: its objects are deleted, and the operator drops them from its caches.
		deleteNamespace(t, env, late, api)
		harness.Eventually(t, "odacompns-late dropped from the caches", func() error {
			return cachesHoldOnly(op, "components")
		})
		require.NoError(t, env.Client.Get(ctx, client.ObjectKeyFromObject(kept), kept), "the ServiceMonitor in an unserved namespace stays")
		for _, w := range writesTo(op, other) {
			t.Errorf("the operator wrote in an unserved namespace, later: %s", w)
		}
	})
}

func deleteNamespace(t *testing.T, env *harness.Env, ns string, objs ...client.Object) {
	ctx := context.Background()
	objs = append(objs, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "impl"}},
		&discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "impl-slice"}},
		&networkingv1.VirtualService{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "late"}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	for _, obj := range objs {
		require.NoError(t, client.IgnoreNotFound(env.Client.Delete(ctx, obj)), "%T", obj)
	}
}

// cachesHoldOnly is nil when every cached object is in one of the served namespaces.
func cachesHoldOnly(op *harness.Operator, served ...string) error {
	lists := []client.ObjectList{&odav1.ExposedAPIList{}, &odav1.ComponentList{}, &corev1.ServiceList{},
		&corev1.PodList{}, &discoveryv1.EndpointSliceList{}, &networkingv1.VirtualServiceList{}}
	for _, list := range lists {
		if err := op.Manager.GetCache().List(context.Background(), list); err != nil {
			return err
		}
		items, err := meta.ExtractList(list)
		if err != nil {
			return err
		}
		for _, item := range items {
			if m, _ := meta.Accessor(item); !slices.Contains(served, m.GetNamespace()) {
				return fmt.Errorf("%T %s/%s is cached", item, m.GetNamespace(), m.GetName())
			}
		}
	}
	return nil
}

// unservedObjects puts in ns one of each kind the operator caches, and returns its API.
func unservedObjects(t *testing.T, env *harness.Env, ns string) *odav1.ExposedAPI {
	ctx := context.Background()
	env.Implementation(t, ns, "impl", 8080, true)
	env.Pod(t, ns, "impl-0", map[string]string{"app": "impl"})
	require.NoError(t, env.Client.Create(ctx, &odav1.Component{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "shop"}}))
	vs := &networkingv1.VirtualService{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "labelled",
		Labels: map[string]string{exposedapi.ManagedByLabel: exposedapi.ManagedByValue}}}
	require.NoError(t, env.Client.Create(ctx, vs))
	api := harness.API(ns, "outside", "/outside", "impl", 8080)
	api.Spec.APIType = odav1.APITypePrometheus
	require.NoError(t, env.Client.Create(ctx, api))
	return api
}

// operatorServiceMonitor is a ServiceMonitor as the operator makes one for ExposedAPI name.
func operatorServiceMonitor(t *testing.T, env *harness.Env, ns, name string) *monitoringv1.ServiceMonitor {
	sm := &monitoringv1.ServiceMonitor{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name,
		Labels: map[string]string{exposedapi.ManagedByLabel: exposedapi.ManagedByValue},
		OwnerReferences: []metav1.OwnerReference{{APIVersion: odav1.GroupVersion.String(), Kind: "ExposedAPI", Name: name,
			UID: types.UID("uid-" + name), Controller: ptr.To(true)}}},
		Spec: monitoringv1.ServiceMonitorSpec{Endpoints: []monitoringv1.Endpoint{{Path: "/metrics"}}}}
	require.NoError(t, env.Client.Create(context.Background(), sm))
	return sm
}

func writesTo(op *harness.Operator, ns string) []string {
	var out []string
	for _, r := range op.Requests().All() {
		if r.Method != "GET" && strings.Contains(r.URL.Path, "/namespaces/"+ns+"/") {
			out = append(out, r.Method+" "+r.URL.Path)
		}
	}
	return out
}
