package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
	ctx := context.Background()
	env := harness.Start(t, harness.Generated)
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
		want := map[string]string{"prometheus.io/scrape": "true", "prometheus.io/path": "/metrics", "prometheus.io/port": "9090",
			"metrics.oda.tmforum.org/exposedapi": "shop-metrics"}
		waitAnnotations(t, env, ns, "match", want)
		env.Pod(t, ns, "later", map[string]string{"app": "shop", "tier": "api"})
		waitAnnotations(t, env, ns, "later", want)
		waitCondition(t, env, api, "Scraping", true, "PodsAnnotated")
		assert.Empty(t, annotationsOf(t, env, ns, "half"), "a pod matching one label of two is left alone")
		assert.Empty(t, annotationsOf(t, env, ns, "other"), "a pod of another Service is left alone")

		env.UpdateAPI(t, api, func(api *odav1.ExposedAPI) { api.Spec.Path, api.Spec.Port = "/prom", 9100 })
		want["prometheus.io/path"], want["prometheus.io/port"] = "/prom", "9100"
		waitAnnotations(t, env, ns, "match", want)

		// Annotations of others on the pod are never touched.
		pod := &corev1.Pod{}
		require.NoError(t, env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "match"}, pod))
		patch := client.MergeFrom(pod.DeepCopy())
		pod.Annotations["team/owner"] = "shop"
		require.NoError(t, env.Client.Patch(ctx, pod, patch))

		require.NoError(t, env.Client.Delete(ctx, api))
		waitGone(t, env, api)
		waitAnnotations(t, env, ns, "match", map[string]string{"team/owner": "shop"})
		waitAnnotations(t, env, ns, "later", nil)
	})
}

func TestDataDogAnnotations(t *testing.T) {
	ctx := context.Background()
	env := harness.Start(t, harness.Generated)
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
	ctx := context.Background()
	env := harness.Start(t, harness.Generated, harness.ServiceMonitorCRD(t))
	ns := env.Namespace(t, "components")
	env.Service(t, ns, "shop-metrics", map[string]string{"app": "shop"})
	env.Pod(t, ns, "p1", map[string]string{"app": "shop"})
	api := metricsAPI(ns, "shop-metrics", "/metrics", "shop-metrics", 9090)
	require.NoError(t, env.Client.Create(ctx, api))

	op := harness.StartOperator(t, env, harness.DefaultOptions())
	sm := waitServiceMonitor(t, env, api, "/metrics", 9090)
	op.Stop()

	o := harness.DefaultOptions()
	o.OpenMetricsImplementation = app.PrometheusAnnotation
	op = harness.StartOperator(t, env, o)
	waitGone(t, env, sm)
	waitAnnotations(t, env, ns, "p1", map[string]string{"prometheus.io/scrape": "true", "prometheus.io/path": "/metrics",
		"prometheus.io/port": "9090", "metrics.oda.tmforum.org/exposedapi": "shop-metrics"})
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
}
