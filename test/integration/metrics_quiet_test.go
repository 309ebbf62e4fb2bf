package integration

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	admissionv1 "k8s.io/api/admissionregistration/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/controllers/metrics"
	"github.com/oda-canvas/api-operator-istio/internal/app"
	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// discoveryRequests are the requests that ask the API server which kinds it serves, or ask
// for the monitoring.coreos.com group.
func discoveryRequests(op *harness.Operator) []string {
	var out []string
	for _, r := range op.Requests().All() {
		p := r.URL.Path
		if p == "/api" || p == "/apis" || strings.HasPrefix(p, "/apis/monitoring.coreos.com") {
			out = append(out, r.Method+" "+r.URL.String())
		}
	}
	return out
}

// webPlane is a plane with the ingress gateway at 20.0.0.1 and a namespace with a ready
// implementation Service "web" on port 8080.
func webPlane(t *testing.T, set harness.CRDSet, extraCRDPaths ...string) (*harness.Env, string) {
	env := harness.Start(t, set, extraCRDPaths...)
	ns := env.Namespace(t, "components")
	env.Gateway(t, "20.0.0.1", "")
	env.Implementation(t, ns, "web", 8080, true)
	return env, ns
}

// TestServiceMonitorCRDAbsentIsQuiet: without the ServiceMonitor CRD, reconciles (of metrics
// APIs and of the others) send no discovery request: the answer is known until a CRD changes.
func TestServiceMonitorCRDAbsentIsQuiet(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		ctx := context.Background()
		env, ns := webPlane(t, set)
		crdsSeen := harness.ReconcileCount(t, "crdwatch")
		op := harness.StartOperator(t, env, harness.DefaultOptions())

		first, m := harness.API(ns, "first", "/first", "web", 8080), metricsAPI(ns, "m", "/metrics", "web", 8080)
		require.NoError(t, env.Client.Create(ctx, first))
		require.NoError(t, env.Client.Create(ctx, m))
		waitReady(t, env, first, "https://20.0.0.1/first")
		waitCondition(t, env, m, "Scraping", false, "ServiceMonitorCRDMissing")
		waitCRDsSeen(t, env, crdsSeen)
		before := discoveryRequests(op)

		var apis []*odav1.ExposedAPI
		for _, name := range []string{"a", "b", "c", "d"} {
			api := harness.API(ns, name, "/"+name, "web", 8080)
			require.NoError(t, env.Client.Create(ctx, api))
			apis = append(apis, api)
		}
		for _, api := range apis {
			waitReady(t, env, api, "https://20.0.0.1/"+api.Name)
			env.UpdateAPI(t, api, func(api *odav1.ExposedAPI) { api.Spec.Path += "-v2" })
			waitReady(t, env, api, "https://20.0.0.1/"+api.Name+"-v2")
		}
		env.UpdateAPI(t, m, func(api *odav1.ExposedAPI) { api.Spec.Path = "/metrics-v2" })
		env.WaitAPI(t, m, "reconciled at generation 2", func(got *odav1.ExposedAPI) error {
			return conditionAt(got, "Scraping", got.Generation)
		})
		assert.Equal(t, before, discoveryRequests(op), "discovery requests sent by reconciles")
	})
}

// waitCRDsSeen waits until the CRD watch has looked at every CRD once (it asks discovery
// for each, at start) and is idle; before is its reconcile count before the operator started.
func waitCRDsSeen(t *testing.T, env *harness.Env, before float64) {
	t.Helper()
	var crds apiextensionsv1.CustomResourceDefinitionList
	require.NoError(t, env.Client.List(context.Background(), &crds))
	last := -1.0
	harness.Eventually(t, "every CRD seen by the CRD watch", func() error {
		n := harness.ReconcileCount(t, "crdwatch") - before
		if n < float64(len(crds.Items)) || n != last {
			last = n
			return fmt.Errorf("%v reconciles of %d CRDs, or not idle yet", n, len(crds.Items))
		}
		return nil
	})
}

// TestAnnotationPatternsCacheNoServiceMonitors: the annotation patterns neither watch nor
// cache ServiceMonitors; they list them once, to remove what the ServiceMonitor pattern
// (ours, or the Python operator's) left.
func TestAnnotationPatternsCacheNoServiceMonitors(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		ctx := context.Background()
		env, ns := webPlane(t, set, harness.ServiceMonitorCRD(t))
		env.Pod(t, ns, "p1", map[string]string{"app": "web"})
		plain, m := harness.API(ns, "plain", "/plain", "web", 8080), metricsAPI(ns, "m", "/metrics", "web", 8080)
		require.NoError(t, env.Client.Create(ctx, plain))
		require.NoError(t, env.Client.Create(ctx, m))
		// What the ServiceMonitor pattern left (in the Python operator's form, no labels of
		// ours), for the one list to find.
		stale := pythonServiceMonitor(t, env, m, "http")
		o := harness.DefaultOptions()
		o.OpenMetricsImplementation = app.DataDogAnnotation
		op := harness.StartOperator(t, env, o)

		waitReady(t, env, plain, "https://20.0.0.1/plain")
		waitCondition(t, env, m, "Scraping", true, "PodsAnnotated")
		waitGone(t, env, stale)
		env.UpdateAPI(t, plain, func(api *odav1.ExposedAPI) { api.Spec.Path = "/plain-v2" })
		waitReady(t, env, plain, "https://20.0.0.1/plain-v2")

		lists := 0
		for _, r := range op.Requests().All() {
			if !strings.Contains(r.URL.Path, "/servicemonitors") {
				continue
			}
			switch {
			case r.Method == http.MethodDelete: // the removal of what was left
			case r.Method == http.MethodGet && r.URL.Query().Get("watch") != "true":
				lists++
			default:
				t.Errorf("an annotation pattern read ServiceMonitors: %s %s", r.Method, r.URL)
			}
		}
		assert.Equal(t, 1, lists, "ServiceMonitors listed once, to remove what the other pattern left")
	})
}

// conditionAt checks that the condition was set by a reconcile of the given generation.
func conditionAt(api *odav1.ExposedAPI, typ string, generation int64) error {
	c := meta.FindStatusCondition(api.Status.Conditions, typ)
	if c == nil || c.ObservedGeneration != generation {
		return fmt.Errorf("condition %s %+v, want generation %d", typ, c, generation)
	}
	return nil
}

// TestStartFetchesDiscoveryOnce: at start the CRD watch reconciles every CRD of the cluster.
// It asks whether each is served from one fetch of the discovery document, and the RESTMapper
// is reset only for the groups whose status the operator writes, so a start costs a few
// requests for /api and /apis, not two or more per CRD.
func TestStartFetchesDiscoveryOnce(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		ctx := context.Background()
		env, ns := webPlane(t, set, harness.ServiceMonitorCRD(t))
		crdsSeen := harness.ReconcileCount(t, "crdwatch")
		op := harness.StartOperator(t, env, harness.DefaultOptions())

		api := harness.API(ns, "first", "/first", "web", 8080)
		require.NoError(t, env.Client.Create(ctx, api))
		waitReady(t, env, api, "https://20.0.0.1/first")
		waitCRDsSeen(t, env, crdsSeen)
		var crds apiextensionsv1.CustomResourceDefinitionList
		require.NoError(t, env.Client.List(ctx, &crds))
		var documents []string
		for _, r := range op.Requests().All() {
			if r.URL.Path == "/api" || r.URL.Path == "/apis" {
				documents = append(documents, r.URL.Path)
			}
		}
		t.Logf("%d requests for the discovery document with %d CRDs", len(documents), len(crds.Items))
		assert.LessOrEqual(t, len(documents), 6, "requests for /api and /apis at start, with %d CRDs", len(crds.Items))
	})
}

// TestServiceMonitorsLeftAreRemovedOnceAllowed: the annotation patterns remove what the
// ServiceMonitor pattern left once, when the kind turns up (at start, at a failover), when
// the API server may be failing: a removal that fails is tried again until it is done.
func TestServiceMonitorsLeftAreRemovedOnceAllowed(t *testing.T) {
	ctx := context.Background()
	env, ns := webPlane(t, harness.Generated, harness.ServiceMonitorCRD(t))
	env.Pod(t, ns, "p1", map[string]string{"app": "web"})
	m := metricsAPI(ns, "m", "/metrics", "web", 8080)
	require.NoError(t, env.Client.Create(ctx, m))
	stale := pythonServiceMonitor(t, env, m, "http")
	refuseDeletes(t, env, stale)

	o := harness.DefaultOptions()
	o.OpenMetricsImplementation = app.PrometheusAnnotation
	harness.StartOperator(t, env, o)
	waitCondition(t, env, m, "Scraping", true, "PodsAnnotated")
	time.Sleep(2 * time.Second)
	require.NoError(t, env.Client.Get(ctx, client.ObjectKeyFromObject(stale), &monitoringv1.ServiceMonitor{}), "its delete is refused")

	allow(t, env, "refuse-deletes")
	waitGone(t, env, stale)
}

// pythonServiceMonitor creates the ServiceMonitor the ServiceMonitor pattern left for api in
// the Python operator's form: named after it, adopted by it, none of our labels.
func pythonServiceMonitor(t *testing.T, env *harness.Env, api *odav1.ExposedAPI, port string) *monitoringv1.ServiceMonitor {
	t.Helper()
	sm := &monitoringv1.ServiceMonitor{ObjectMeta: metav1.ObjectMeta{Namespace: api.Namespace, Name: api.Name},
		Spec: monitoringv1.ServiceMonitorSpec{Endpoints: []monitoringv1.Endpoint{{Port: port}}}}
	require.NoError(t, controllerutil.SetControllerReference(api, sm, env.Client.Scheme()))
	require.NoError(t, env.Client.Create(context.Background(), sm))
	return sm
}

// refuseDeletes has the API server refuse to delete any object of obj's kind in its
// namespace, with a ValidatingAdmissionPolicy named refuse-deletes, until allow.
func refuseDeletes(t *testing.T, env *harness.Env, obj client.Object) {
	t.Helper()
	ctx := context.Background()
	gvk, err := env.Client.GroupVersionKindFor(obj)
	require.NoError(t, err)
	mapping, err := env.Client.RESTMapper().RESTMapping(gvk.GroupKind(), gvk.Version)
	require.NoError(t, err)
	rule := admissionv1.Rule{APIGroups: []string{gvk.Group}, APIVersions: []string{"*"}, Resources: []string{mapping.Resource.Resource}}
	enforce(t, env, "refuse-deletes", []admissionv1.OperationType{admissionv1.Delete}, rule, "false", obj.GetNamespace())
	harness.Eventually(t, "the policy in force", func() error {
		if err := env.Client.Delete(ctx, obj, client.DryRunAll); err == nil || !strings.Contains(err.Error(), refusal) {
			return fmt.Errorf("deleting %s: %v", obj.GetName(), err)
		}
		return nil
	})
}

// TestNoServiceMonitorsLeftOnceTheKindGoes: with the ServiceMonitor kind not served (never,
// or its CRD removed since the client last used it) there are none to remove, so the removal
// is done and not tried again for good.
func TestNoServiceMonitorsLeftOnceTheKindGoes(t *testing.T) {
	ctx := context.Background()
	env := harness.Start(t, harness.Generated)
	scraper := &metrics.Scraper{Client: env.Client, APIReader: env.Client, Pattern: app.PrometheusAnnotation}
	require.NoError(t, scraper.RemoveServiceMonitors(ctx), "the kind was never served")

	crds := harness.ReadCRDs(t, harness.ServiceMonitorCRD(t))
	for _, crd := range crds {
		require.NoError(t, env.Client.Create(ctx, crd))
	}
	harness.Eventually(t, "the ServiceMonitor kind served", func() error {
		return env.Client.List(ctx, &monitoringv1.ServiceMonitorList{})
	})
	for _, crd := range crds {
		require.NoError(t, env.Client.Delete(ctx, crd))
	}
	harness.Eventually(t, "the ServiceMonitor kind gone", func() error {
		if err := env.Client.List(ctx, &monitoringv1.ServiceMonitorList{}); err == nil {
			return fmt.Errorf("still served")
		}
		return nil
	})
	require.NoError(t, scraper.RemoveServiceMonitors(ctx), "the kind's CRD was removed")
}
