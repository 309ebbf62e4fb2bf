package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/internal/app"
	"github.com/oda-canvas/api-operator-istio/test/harness"
)

func metricsAPI(ns, name, path, impl string, port int32) *odav1.ExposedAPI {
	api := harness.API(ns, name, path, impl, port)
	api.Spec.APIType = odav1.APITypePrometheus
	return api
}

func waitServiceMonitor(t *testing.T, env *harness.Env, api *odav1.ExposedAPI, path string, port int32) *monitoringv1.ServiceMonitor {
	t.Helper()
	sm := &monitoringv1.ServiceMonitor{}
	harness.Eventually(t, "ServiceMonitor "+api.Name+" at "+path, func() error {
		if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(api), sm); err != nil {
			return err
		}
		if len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Path != path || sm.Spec.Endpoints[0].TargetPort.IntVal != port {
			return fmt.Errorf("endpoints %+v", sm.Spec.Endpoints)
		}
		return nil
	})
	return sm
}

func waitGone(t *testing.T, env *harness.Env, obj client.Object) {
	t.Helper()
	harness.Eventually(t, fmt.Sprintf("%T %s gone", obj, obj.GetName()), func() error {
		err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), obj)
		if isNotFound(err) {
			return nil
		}
		return fmt.Errorf("still there (err %v)", err)
	})
}

func TestServiceMonitor(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		ctx := context.Background()
		env := harness.Start(t, set, harness.ServiceMonitorCRD(t))
		ns := env.Namespace(t, "components")
		op := harness.StartOperator(t, env, harness.DefaultOptions())
		t.Cleanup(func() { assertNoPodsRead(t, op) })

		api := metricsAPI(ns, "shop-metrics", "/metrics", "shop-metrics", 9090)
		api.Labels["app.kubernetes.io/part-of"], api.Labels["app.kubernetes.io/managed-by"] = "shop", "Helm"
		api.Spec.BasicAuth = &apiextensionsv1.JSON{Raw: []byte(`{"username":{"name":"creds","key":"user"},"password":{"name":"creds","key":"pass"}}`)}
		require.NoError(t, env.Client.Create(ctx, api))
		sm := waitServiceMonitor(t, env, api, "/metrics", 9090)
		got, err := json.Marshal(sm.Spec)
		require.NoError(t, err)
		assert.JSONEq(t, `{"namespaceSelector":{},"selector":{"matchLabels":{"name":"shop-metrics"}},"endpoints":[{"path":"/metrics","targetPort":9090,
			"interval":"15s","scheme":"http","basicAuth":{"username":{"name":"creds","key":"user"},"password":{"name":"creds","key":"pass"}}}]}`, string(got))
		assert.Equal(t, api.UID, metav1.GetControllerOf(sm).UID, "owned by the ExposedAPI")
		waitCondition(t, env, api, "Scraping", true, "ServiceMonitorProgrammed")
		firstUID := sm.UID
		assertChildLabels(t, env, api)

		env.UpdateAPI(t, api, func(api *odav1.ExposedAPI) { api.Spec.Path, api.Spec.Port = "/prometheus", 9100 })
		sm = waitServiceMonitor(t, env, api, "/prometheus", 9100)
		assert.Equal(t, firstUID, sm.UID, "updated in place")

		// Edited or deleted by hand, it is put back at once, not at the API's next change.
		sm.Spec.Endpoints[0].Path = "/edited"
		require.NoError(t, env.Client.Update(ctx, sm))
		waitServiceMonitor(t, env, api, "/prometheus", 9100)
		require.NoError(t, env.Client.Delete(ctx, sm))
		harness.Eventually(t, "the ServiceMonitor made again", func() error {
			again := waitServiceMonitor(t, env, api, "/prometheus", 9100)
			if again.UID == firstUID {
				return fmt.Errorf("still the deleted one")
			}
			return nil
		})

		// No longer a metrics API: the ServiceMonitor and the condition go.
		env.UpdateAPI(t, api, func(api *odav1.ExposedAPI) { api.Spec.APIType = odav1.APITypeOpenAPI })
		waitGone(t, env, sm)
		harness.Eventually(t, "Scraping condition removed", func() error {
			require.NoError(t, env.Client.Get(ctx, client.ObjectKeyFromObject(api), api))
			if c := meta.FindStatusCondition(api.Status.Conditions, "Scraping"); c != nil {
				return fmt.Errorf("still %+v", c)
			}
			return nil
		})
	})
}

// assertChildLabels: the API's VirtualService and ServiceMonitor carry its labels, as the
// reference's kopf.adopt copies them (managed-by is ours), and follow a label added later.
func assertChildLabels(t *testing.T, env *harness.Env, api *odav1.ExposedAPI) {
	t.Helper()
	want := maps.Clone(api.Labels)
	want["app.kubernetes.io/managed-by"] = "api-operator-istio"
	children := []client.Object{&monitoringv1.ServiceMonitor{}, &networkingv1VirtualService{}}
	has := func(want map[string]string) func() error {
		return func() error {
			for _, c := range children {
				if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(api), c); err != nil {
					return err
				}
				if !maps.Equal(c.GetLabels(), want) {
					return fmt.Errorf("%T labels %v, want %v", c, c.GetLabels(), want)
				}
			}
			return nil
		}
	}
	harness.Eventually(t, "the children carry the API's labels", has(want))
	env.UpdateAPI(t, api, func(api *odav1.ExposedAPI) { api.Labels["team"] = "payments" })
	want["team"] = "payments"
	harness.Eventually(t, "the children carry the label added", has(want))
}

// assertNoPodsRead: the ServiceMonitor pattern neither lists nor watches pods (a cluster has
// many; only the annotation patterns need them).
func assertNoPodsRead(t *testing.T, op *harness.Operator) {
	for _, r := range op.Requests().All() {
		if a, ok := harness.AccessOf(r); ok && a.Group == "" && a.Resource == "pods" {
			t.Errorf("the ServiceMonitor pattern read pods: %s %s", r.Method, r.URL)
		}
	}
}

func TestServiceMonitorCRDMissing(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		ctx := context.Background()
		env := harness.Start(t, set)
		ns := env.Namespace(t, "components")
		env.Gateway(t, "20.0.0.1", "")
		env.Implementation(t, ns, "web", 8080, true)
		harness.StartOperator(t, env, harness.DefaultOptions())

		api := metricsAPI(ns, "m", "/metrics", "web", 8080)
		other := harness.API(ns, "other", "/other", "web", 8080)
		require.NoError(t, env.Client.Create(ctx, api))
		require.NoError(t, env.Client.Create(ctx, other))
		msg := waitCondition(t, env, api, "Scraping", false, "ServiceMonitorCRDMissing")
		assert.Contains(t, msg, "install the Prometheus Operator CRDs")
		assertEvent(t, env, ns, api.Name, "ServiceMonitorCRDMissing")
		waitCondition(t, env, api, "Ready", false, "ServiceMonitorCRDMissing")
		waitReady(t, env, other, "https://20.0.0.1/other")

		// The CRD arrives: the API is set up without a restart.
		for _, crd := range harness.ReadCRDs(t, harness.ServiceMonitorCRD(t)) {
			require.NoError(t, env.Client.Create(ctx, crd))
		}
		waitCondition(t, env, api, "Scraping", true, "ServiceMonitorProgrammed")
		sm := waitServiceMonitor(t, env, api, "/metrics", 8080)
		waitCondition(t, env, api, "Ready", true, "Ready")

		// ServiceMonitors are watched from the CRD's arrival on: one deleted by hand comes back.
		require.NoError(t, env.Client.Delete(ctx, sm))
		harness.Eventually(t, "the ServiceMonitor made again", func() error {
			if again := waitServiceMonitor(t, env, api, "/metrics", 8080); again.UID == sm.UID {
				return fmt.Errorf("still the deleted one")
			}
			return nil
		})
	})
}

func annotationsOf(t *testing.T, env *harness.Env, ns, name string) map[string]string {
	t.Helper()
	pod := &corev1.Pod{}
	require.NoError(t, env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, pod))
	return pod.Annotations
}

func waitAnnotations(t *testing.T, env *harness.Env, ns, pod string, want map[string]string) {
	t.Helper()
	harness.Eventually(t, fmt.Sprintf("annotations of pod %s", pod), func() error {
		got := annotationsOf(t, env, ns, pod)
		if !assert.ObjectsAreEqual(want, got) && !(len(want) == 0 && len(got) == 0) {
			return fmt.Errorf("annotations %v, want %v", got, want)
		}
		return nil
	})
}

func TestPrometheusAnnotations(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		ctx := context.Background()
		env := harness.Start(t, set)
		ns := env.Namespace(t, "components")
		env.Service(t, ns, "shop-metrics", map[string]string{"app": "shop", "tier": "api"})
		env.Pod(t, ns, "match", map[string]string{"app": "shop", "tier": "api", "extra": "x"})
		env.Pod(t, ns, "half", map[string]string{"app": "shop"})
		env.Pod(t, ns, "other", map[string]string{"app": "other", "tier": "api"})
		o := harness.DefaultOptions()
		o.OpenMetricsImplementation = app.PrometheusAnnotation
		harness.StartOperator(t, env, o)

		api := metricsAPI(ns, "shop-metrics", "/metrics", "shop-metrics", 9090)
		require.NoError(t, env.Client.Create(ctx, api))
		want := map[string]string{"prometheus.io/scrape": "true", "prometheus.io/path": "/metrics", "prometheus.io/port": "9090"}
		waitScraped(t, env, ns, "match", want)
		env.Pod(t, ns, "later", map[string]string{"app": "shop", "tier": "api"})
		waitScraped(t, env, ns, "later", want)
		waitCondition(t, env, api, "Scraping", true, "PodsAnnotated")
		assert.Empty(t, annotationsOf(t, env, ns, "half"), "a pod matching one label of two is left alone")
		assert.Empty(t, annotationsOf(t, env, ns, "other"), "a pod of another Service is left alone")

		env.UpdateAPI(t, api, func(api *odav1.ExposedAPI) { api.Spec.Path, api.Spec.Port = "/prom", 9100 })
		want["prometheus.io/path"], want["prometheus.io/port"] = "/prom", "9100"
		waitScraped(t, env, ns, "match", want)
		waitScraped(t, env, ns, "later", want)
		waitConditionSays(t, env, api, "Scraping", "2 pod(s) of Service shop-metrics")

		// A scale-down: the condition counts the pods left.
		require.NoError(t, env.Client.Delete(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "later"}}))
		waitConditionSays(t, env, api, "Scraping", "1 pod(s) of Service shop-metrics")

		// Down to none: nothing is scraped, as when the Service is missing; a new pod is annotated.
		require.NoError(t, env.Client.Delete(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "match"}}))
		waitCondition(t, env, api, "Scraping", false, "ServiceHasNoPods")
		env.Pod(t, ns, "match", map[string]string{"app": "shop", "tier": "api", "extra": "x"})
		waitScraped(t, env, ns, "match", want)
		waitCondition(t, env, api, "Scraping", true, "PodsAnnotated")

		// Annotations of others on the pod are never touched.
		pod := &corev1.Pod{}
		require.NoError(t, env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "match"}, pod))
		patch := client.MergeFrom(pod.DeepCopy())
		pod.Annotations["team/owner"] = "shop"
		require.NoError(t, env.Client.Patch(ctx, pod, patch))

		require.NoError(t, env.Client.Delete(ctx, api))
		waitGone(t, env, api)
		waitAnnotations(t, env, ns, "match", map[string]string{"team/owner": "shop"})
	})
}

func TestDataDogAnnotations(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		ctx := context.Background()
		env := harness.Start(t, set)
		ns := env.Namespace(t, "shop-ns")
		env.Service(t, ns, "shop-metrics", map[string]string{"app": "shop"})
		env.Pod(t, ns, "p1", map[string]string{"app": "shop"})
		o := harness.DefaultOptions()
		o.OpenMetricsImplementation = app.DataDogAnnotation
		harness.StartOperator(t, env, o)

		api := metricsAPI(ns, "shop-metrics", "/metrics", "shop-metrics", 9090)
		api.Spec.APIType = odav1.APITypeOpenMetrics
		require.NoError(t, env.Client.Create(ctx, api))
		assert.Equal(t, dataDogChecks("http://shop-metrics.shop-ns.svc.cluster.local:9090/metrics"), waitDataDog(t, env, ns, "p1", "9090/metrics"))

		// A new path and port reach the annotation.
		env.UpdateAPI(t, api, func(api *odav1.ExposedAPI) { api.Spec.Path, api.Spec.Port = "/openmetrics", 9100 })
		assert.Equal(t, dataDogChecks("http://shop-metrics.shop-ns.svc.cluster.local:9100/openmetrics"), waitDataDog(t, env, ns, "p1", "9100/openmetrics"))

		// The pods go first, then the API: the finalizer does not hold the deletion.
		require.NoError(t, env.Client.DeleteAllOf(ctx, &corev1.Pod{}, client.InNamespace(ns), client.GracePeriodSeconds(0)))
		require.NoError(t, env.Client.Delete(ctx, api))
		waitGone(t, env, api)
	})
}

func dataDogChecks(endpoint string) map[string]any {
	return map[string]any{"openmetrics": map[string]any{"instances": []any{map[string]any{
		"openmetrics_endpoint": endpoint, "namespace": "shop-ns", "metrics": []any{".*"},
	}}}}
}

// waitDataDog waits for the pod's DataDog checks annotation to name the endpoint ending in
// suffix, and returns it parsed.
func waitDataDog(t *testing.T, env *harness.Env, ns, pod, suffix string) map[string]any {
	t.Helper()
	var checks map[string]any
	harness.Eventually(t, "DataDog annotation for "+suffix, func() error {
		v := annotationsOf(t, env, ns, pod)["ad.datadoghq.com/app.checks"]
		if !strings.Contains(v, suffix) {
			return fmt.Errorf("annotation %q", v)
		}
		return json.Unmarshal([]byte(v), &checks)
	})
	return checks
}

// TestPatternSwitchOnRestart: whatever pattern runs, the other patterns' forms are removed.
func TestPatternSwitchOnRestart(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		ctx := context.Background()
		env := harness.Start(t, set, harness.ServiceMonitorCRD(t))
		ns := env.Namespace(t, "components")
		env.Service(t, ns, "shop-metrics", map[string]string{"app": "shop"})
		env.Pod(t, ns, "p1", map[string]string{"app": "shop"})
		api := metricsAPI(ns, "shop-metrics", "/metrics", "shop-metrics", 9090)
		require.NoError(t, env.Client.Create(ctx, api))

		op := harness.StartOperator(t, env, harness.DefaultOptions())
		sm := waitServiceMonitor(t, env, api, "/metrics", 9090)
		op.Stop()
		// One the Python operator made: adopted by its ExposedAPI, none of our labels.
		legacyAPI := metricsAPI(ns, "legacy", "/legacy", "shop-metrics", 9090)
		require.NoError(t, env.Client.Create(ctx, legacyAPI))
		legacy := pythonServiceMonitor(t, env, legacyAPI, "metrics")
		other := &monitoringv1.ServiceMonitor{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "not-an-apis"},
			Spec: monitoringv1.ServiceMonitorSpec{Endpoints: []monitoringv1.Endpoint{{Port: "metrics"}}}}
		require.NoError(t, env.Client.Create(ctx, other))

		o := harness.DefaultOptions()
		o.OpenMetricsImplementation = app.PrometheusAnnotation
		op = harness.StartOperator(t, env, o)
		waitGone(t, env, sm)
		waitGone(t, env, legacy)
		require.NoError(t, env.Client.Get(ctx, client.ObjectKeyFromObject(other), other), "a ServiceMonitor no ExposedAPI controls stays")
		waitScraped(t, env, ns, "p1", map[string]string{"prometheus.io/scrape": "true", "prometheus.io/path": "/metrics",
			"prometheus.io/port": "9090"})
		op.Stop()

		harness.StartOperator(t, env, harness.DefaultOptions())
		waitServiceMonitor(t, env, api, "/metrics", 9090)
		waitAnnotations(t, env, ns, "p1", nil)
		harness.Eventually(t, "finalizer removed", func() error {
			require.NoError(t, env.Client.Get(ctx, client.ObjectKeyFromObject(api), api))
			if len(api.Finalizers) > 0 {
				return fmt.Errorf("finalizers %v", api.Finalizers)
			}
			return nil
		})
	})
}

// istioAnnotations are what Istio's sidecar injector puts on a pod for its metrics merging.
func istioAnnotations() map[string]string {
	return map[string]string{"prometheus.io/scrape": "true", "prometheus.io/port": "15020", "prometheus.io/path": "/stats/prometheus",
		"sidecar.istio.io/status": `{"containers":["istio-proxy"]}`}
}

// annotatedPod creates a pod with the labels and annotations, as an injector would leave it.
func annotatedPod(t *testing.T, env *harness.Env, ns, name string, labels, annotations map[string]string) {
	t.Helper()
	pod := env.Pod(t, ns, name, labels)
	patch := client.MergeFrom(pod.DeepCopy())
	pod.Annotations = annotations
	require.NoError(t, env.Client.Patch(context.Background(), pod, patch))
}

// withoutOurRecord is m without the operator's own bookkeeping annotations.
func withoutOurRecord(m map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		if !strings.HasPrefix(k, "metrics.oda.tmforum.org/") {
			out[k] = v
		}
	}
	return out
}

// waitScraped waits until the pod's annotations, the operator's record aside, are want.
func waitScraped(t *testing.T, env *harness.Env, ns, pod string, want map[string]string) {
	t.Helper()
	harness.Eventually(t, fmt.Sprintf("annotations of pod %s", pod), func() error {
		got := annotationsOf(t, env, ns, pod)
		if !assert.ObjectsAreEqual(want, withoutOurRecord(got)) {
			return fmt.Errorf("annotations %v, want %v", got, want)
		}
		return nil
	})
}

func merged(base map[string]string, over map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range over {
		out[k] = v
	}
	return out
}

// assertPodQuiet: once converged, nothing writes the pod any more.
func assertPodQuiet(t *testing.T, env *harness.Env, ns, name string) {
	t.Helper()
	pod := &corev1.Pod{}
	require.NoError(t, env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, pod))
	before := pod.ResourceVersion
	time.Sleep(3 * time.Second)
	require.NoError(t, env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, pod))
	assert.Equal(t, before, pod.ResourceVersion, "pod %s written after convergence: %v", name, pod.Annotations)
}

// createOneSecondApart creates the APIs in order with distinct creation times (they have a
// one-second resolution), so that the oldest is the first, whatever the names.
func createOneSecondApart(t *testing.T, env *harness.Env, apis ...*odav1.ExposedAPI) {
	t.Helper()
	for i, api := range apis {
		if i > 0 {
			time.Sleep(1100 * time.Millisecond)
		}
		require.NoError(t, env.Client.Create(context.Background(), api))
	}
}

// startAnnotating starts a control plane with Services selecting app=shop in ns, pods
// labelled app=shop with the annotations given, and the operator with the pattern.
func startAnnotating(t *testing.T, set harness.CRDSet, pattern, ns string, pods map[string]map[string]string, services ...string) *harness.Env {
	t.Helper()
	env := harness.Start(t, set)
	env.Namespace(t, ns)
	for _, svc := range services {
		env.Service(t, ns, svc, map[string]string{"app": "shop"})
	}
	for name, annotations := range pods {
		annotatedPod(t, env, ns, name, map[string]string{"app": "shop"}, annotations)
	}
	o := harness.DefaultOptions()
	o.OpenMetricsImplementation = pattern
	harness.StartOperator(t, env, o)
	return env
}

// TestPrometheusAnnotationsRestoreIstio: Istio's values are recorded when an API takes
// the keys over, and put back exactly, value or absence, when it lets them go.
func TestPrometheusAnnotationsRestoreIstio(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		ctx, ns := context.Background(), "components"
		env := startAnnotating(t, set, app.PrometheusAnnotation, ns, map[string]map[string]string{
			"injected": istioAnnotations(), "half": {"prometheus.io/port": "7070", "team": "shop"}}, "shop")

		api := metricsAPI(ns, "shop-metrics", "/metrics", "shop", 9090)
		require.NoError(t, env.Client.Create(ctx, api))
		ours := map[string]string{"prometheus.io/scrape": "true", "prometheus.io/path": "/metrics", "prometheus.io/port": "9090"}
		waitScraped(t, env, ns, "injected", merged(istioAnnotations(), ours))
		waitScraped(t, env, ns, "half", merged(map[string]string{"team": "shop"}, ours))
		waitCondition(t, env, api, "Scraping", true, "PodsAnnotated")
		assertPodQuiet(t, env, ns, "injected")

		require.NoError(t, env.Client.Delete(ctx, api))
		waitGone(t, env, api)
		waitAnnotations(t, env, ns, "injected", istioAnnotations())
		waitAnnotations(t, env, ns, "half", map[string]string{"prometheus.io/port": "7070", "team": "shop"})
	})
}

// TestPrometheusAnnotationsSeveralAPIs: one path and port per pod, the oldest API's; the
// other says so; deleting the oldest hands the pod over; deleting all restores it.
func TestPrometheusAnnotationsSeveralAPIs(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		ctx, ns := context.Background(), "components"
		env := startAnnotating(t, set, app.PrometheusAnnotation, ns, map[string]map[string]string{"p1": istioAnnotations()}, "shop", "shop-too")

		old, young := metricsAPI(ns, "zz-old", "/metrics", "shop", 9090), metricsAPI(ns, "aa-young", "/other", "shop-too", 9100)
		createOneSecondApart(t, env, old, young)
		waitCondition(t, env, old, "Scraping", true, "PodsAnnotated")
		msg := waitCondition(t, env, young, "Scraping", false, "PodsScrapedByAnotherAPI")
		assert.Contains(t, msg, "zz-old")
		assertEvent(t, env, ns, young.Name, "PodsScrapedByAnotherAPI")
		waitScraped(t, env, ns, "p1", merged(istioAnnotations(), map[string]string{"prometheus.io/path": "/metrics", "prometheus.io/port": "9090"}))
		// An API at the oldest one's path and port (another host) is scraped all the same.
		same := metricsAPI(ns, "mm-same", "/metrics", "shop", 9090)
		same.Spec.Hostname = "same.example.com"
		require.NoError(t, env.Client.Create(ctx, same))
		waitCondition(t, env, same, "Scraping", true, "PodsAnnotated")
		require.NoError(t, env.Client.Delete(ctx, same))
		waitGone(t, env, same)
		assertPodQuiet(t, env, ns, "p1")

		require.NoError(t, env.Client.Delete(ctx, old))
		waitGone(t, env, old)
		waitScraped(t, env, ns, "p1", merged(istioAnnotations(), map[string]string{"prometheus.io/path": "/other", "prometheus.io/port": "9100"}))
		waitCondition(t, env, young, "Scraping", true, "PodsAnnotated")
		assertPodQuiet(t, env, ns, "p1")

		require.NoError(t, env.Client.Delete(ctx, young))
		waitGone(t, env, young)
		waitAnnotations(t, env, ns, "p1", istioAnnotations())
	})
}

// TestDataDogSeveralAPIs: one checks annotation with one instance per API, oldest first;
// the value it replaced is put back when the last API goes.
func TestDataDogSeveralAPIs(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		ctx, ns := context.Background(), "shop-ns"
		users := map[string]string{"ad.datadoghq.com/app.checks": `{"redisdb":{"instances":[{"host":"localhost"}]}}`}
		env := startAnnotating(t, set, app.DataDogAnnotation, ns, map[string]map[string]string{"p1": users}, "shop", "shop-too")

		old, young := metricsAPI(ns, "zz-old", "/metrics", "shop", 9090), metricsAPI(ns, "aa-young", "/other", "shop-too", 9100)
		createOneSecondApart(t, env, old, young)
		instance := func(endpoint string) map[string]any {
			return map[string]any{"openmetrics_endpoint": endpoint, "namespace": "shop-ns", "metrics": []any{".*"}}
		}
		waitChecks(t, env, ns, "p1", instance("http://shop.shop-ns.svc.cluster.local:9090/metrics"), instance("http://shop-too.shop-ns.svc.cluster.local:9100/other"))
		waitCondition(t, env, old, "Scraping", true, "PodsAnnotated")
		waitCondition(t, env, young, "Scraping", true, "PodsAnnotated")
		assertPodQuiet(t, env, ns, "p1")

		require.NoError(t, env.Client.Delete(ctx, old))
		waitGone(t, env, old)
		waitChecks(t, env, ns, "p1", instance("http://shop-too.shop-ns.svc.cluster.local:9100/other"))
		assertPodQuiet(t, env, ns, "p1")

		require.NoError(t, env.Client.Delete(ctx, young))
		waitGone(t, env, young)
		waitAnnotations(t, env, ns, "p1", users)
	})
}

// waitChecks waits until the pod's DataDog checks annotation holds the instances, in order.
func waitChecks(t *testing.T, env *harness.Env, ns, pod string, instances ...map[string]any) {
	t.Helper()
	want := make([]any, len(instances))
	for i := range instances {
		want[i] = instances[i]
	}
	harness.Eventually(t, fmt.Sprintf("%d DataDog instance(s) on pod %s", len(instances), pod), func() error {
		var got map[string]any
		v := annotationsOf(t, env, ns, pod)["ad.datadoghq.com/app.checks"]
		if err := json.Unmarshal([]byte(v), &got); err != nil {
			return err
		}
		if !assert.ObjectsAreEqual(map[string]any{"openmetrics": map[string]any{"instances": want}}, got) {
			return fmt.Errorf("annotation %s", v)
		}
		return nil
	})
}

// TestMetricsStopWhenNotAccepted: an API whose spec becomes invalid, or that loses its route,
// is not scraped: its annotations come off (the pod's own values back), its finalizer goes,
// and its Scraping condition says why. Accepted again, it is scraped again.
func TestMetricsStopWhenNotAccepted(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		ctx, ns := context.Background(), "components"
		env := startAnnotating(t, set, app.PrometheusAnnotation, ns, map[string]map[string]string{"p1": istioAnnotations()}, "shop")

		owner := harness.API(ns, "owner", "/taken", "other", 8080)
		api := metricsAPI(ns, "shop-metrics", "/metrics", "shop", 9090)
		createOneSecondApart(t, env, owner, api)
		scraped := merged(istioAnnotations(), map[string]string{"prometheus.io/path": "/metrics", "prometheus.io/port": "9090"})
		waitScraped(t, env, ns, "p1", scraped)

		env.UpdateAPI(t, api, func(api *odav1.ExposedAPI) { api.Spec.Port = 0 })
		assertStopped(t, env, api, "p1", "InvalidSpec")
		env.UpdateAPI(t, api, func(api *odav1.ExposedAPI) { api.Spec.Port = 9090 })
		waitScraped(t, env, ns, "p1", scraped)
		waitCondition(t, env, api, "Scraping", true, "PodsAnnotated")

		env.UpdateAPI(t, api, func(api *odav1.ExposedAPI) { api.Spec.Path = "/taken" })
		assertStopped(t, env, api, "p1", "RouteConflict")
		require.NoError(t, env.Client.Delete(ctx, owner))
		waitScraped(t, env, ns, "p1", merged(istioAnnotations(), map[string]string{"prometheus.io/path": "/taken", "prometheus.io/port": "9090"}))
	})
}

func assertStopped(t *testing.T, env *harness.Env, api *odav1.ExposedAPI, pod, reason string) {
	t.Helper()
	msg := waitCondition(t, env, api, "Scraping", false, reason)
	assert.Contains(t, msg, "not scraped")
	waitAnnotations(t, env, api.Namespace, pod, istioAnnotations())
	env.WaitAPI(t, api, "no finalizer", func(got *odav1.ExposedAPI) error {
		if len(got.Finalizers) > 0 {
			return fmt.Errorf("finalizers %v", got.Finalizers)
		}
		return nil
	})
}

// TestServiceMonitorRemovedWhenNotAccepted: the ServiceMonitor pattern stops the same way.
func TestServiceMonitorRemovedWhenNotAccepted(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		env := harness.Start(t, set, harness.ServiceMonitorCRD(t))
		ns := env.Namespace(t, "components")
		harness.StartOperator(t, env, harness.DefaultOptions())

		api := metricsAPI(ns, "shop-metrics", "/metrics", "shop", 9090)
		require.NoError(t, env.Client.Create(context.Background(), api))
		sm := waitServiceMonitor(t, env, api, "/metrics", 9090)
		env.UpdateAPI(t, api, func(api *odav1.ExposedAPI) { api.Spec.Port = 0 })
		waitGone(t, env, sm)
		assert.Contains(t, waitCondition(t, env, api, "Scraping", false, "InvalidSpec"), "not scraped")
		env.UpdateAPI(t, api, func(api *odav1.ExposedAPI) { api.Spec.Port = 9100 })
		waitServiceMonitor(t, env, api, "/metrics", 9100)
	})
}

// TestUnreadablePodRecord: a pod whose record was edited by hand is left as it is and named,
// while the API's other pods are annotated and its status written; once that annotation is
// removed, the pod is annotated too.
func TestUnreadablePodRecord(t *testing.T) {
	ctx, ns := context.Background(), "components"
	edited := map[string]string{"metrics.oda.tmforum.org/scraping": "not a record"}
	env := startAnnotating(t, harness.Generated, app.PrometheusAnnotation, ns, map[string]map[string]string{"edited": edited, "fine": nil}, "shop")
	api := metricsAPI(ns, "shop-metrics", "/metrics", "shop", 9090)
	require.NoError(t, env.Client.Create(ctx, api))
	ours := map[string]string{"prometheus.io/scrape": "true", "prometheus.io/path": "/metrics", "prometheus.io/port": "9090"}
	waitScraped(t, env, ns, "fine", ours)
	msg := waitCondition(t, env, api, "Scraping", false, "PodRecordUnreadable")
	assert.Contains(t, msg, "1 of 2 pod(s) of Service shop")
	assert.Contains(t, msg, ": edited, left as they are")
	assert.Equal(t, edited, annotationsOf(t, env, ns, "edited"), "the pod is left as it is")
	assertWarning(t, env, ns, api.Name, "PodRecordUnreadable") // a person has to act

	pod := &corev1.Pod{}
	require.NoError(t, env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "edited"}, pod))
	raw := []byte(`{"metadata":{"annotations":{"metrics.oda.tmforum.org/scraping":null}}}`)
	require.NoError(t, env.Client.Patch(ctx, pod, client.RawPatch(types.MergePatchType, raw)))
	waitScraped(t, env, ns, "edited", ours)
	waitCondition(t, env, api, "Scraping", true, "PodsAnnotated")
}
