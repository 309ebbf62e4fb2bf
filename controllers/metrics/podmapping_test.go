package metrics_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/controllers/exposedapi"
	"github.com/oda-canvas/api-operator-istio/controllers/metrics"
	"github.com/oda-canvas/api-operator-istio/internal/app"
	"github.com/oda-canvas/api-operator-istio/internal/index"
	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// countingClient counts the reads made through it, and the objects they return.
type countingClient struct {
	client.Client
	mu             sync.Mutex
	reads, objects int
}

func (c *countingClient) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	c.count(1)
	return c.Client.Get(ctx, key, obj, opts...)
}

func (c *countingClient) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	err := c.Client.List(ctx, list, opts...)
	c.count(meta.LenList(list))
	return err
}

func (c *countingClient) count(objects int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reads++
	c.objects += objects
}

func (c *countingClient) reset() (reads, objects int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	reads, objects = c.reads, c.objects
	c.reads, c.objects = 0, 0
	return reads, objects
}

// scraperOnCache is a PrometheusAnnotation scraper reading, through a counting client, from
// a started manager's cache that has the indexes the operator registers: the scraper's own
// and the ExposedAPI controller's implementation index.
func scraperOnCache(t *testing.T, env *harness.Env) (*metrics.Scraper, *countingClient) {
	t.Helper()
	ctx := t.Context()
	mgr, err := ctrl.NewManager(env.Config, ctrl.Options{Scheme: app.Scheme(), Metrics: metricsserver.Options{BindAddress: "0"},
		Cache: cache.Options{ByObject: map[client.Object]cache.ByObject{
			&corev1.Pod{}: {Transform: metrics.SlimPod}, &corev1.Service{}: {Transform: metrics.SlimService}}}})
	require.NoError(t, err)
	s := &metrics.Scraper{APIReader: mgr.GetAPIReader(), Pattern: metrics.PrometheusAnnotation}
	require.NoError(t, s.SetupIndexes(ctx, mgr))
	require.NoError(t, index.Add(ctx, mgr.GetCache(), &odav1.ExposedAPI{}, exposedapi.ImplementationIndex, index.Namespaced,
		func(o client.Object) []string { return []string{o.(*odav1.ExposedAPI).Spec.Implementation} }))
	go func() { _ = mgr.Start(ctx) }()
	require.True(t, mgr.GetCache().WaitForCacheSync(ctx))
	counting := &countingClient{Client: mgr.GetClient()}
	s.Client = counting
	return s, counting
}

// createAPI creates an ExposedAPI of apiType implemented by svc.
func createAPI(t *testing.T, env *harness.Env, ns, name, svc, apiType string) {
	t.Helper()
	api := harness.API(ns, name, "/"+name, svc, 9090)
	api.Spec.APIType = apiType
	require.NoError(t, env.Client.Create(t.Context(), api))
}

// recording is a pod whose record names apis.
func recording(pod *corev1.Pod, apis ...string) *corev1.Pod {
	entries := map[string]any{}
	for _, name := range apis {
		entries[name] = map[string]any{"created": metav1.Now(), "service": "x", "path": "/metrics", "port": 9090}
	}
	raw, _ := json.Marshal(map[string]any{"apis": entries})
	pod.Annotations = map[string]string{metrics.StateAnnotation: string(raw)}
	return pod
}

func woken(s *metrics.Scraper, pod *corev1.Pod) []string {
	var names []string
	for _, r := range s.APIsOfPod(context.Background(), pod) {
		names = append(names, r.Namespace+"/"+r.Name)
	}
	slices.Sort(names)
	return names
}

// waitForCache waits until the cache holds every ExposedAPI and Service of the namespaces.
func waitForCache(t *testing.T, env *harness.Env, c client.Client, nss ...string) {
	t.Helper()
	require.Eventually(t, func() bool {
		for _, ns := range nss {
			var apis, cached odav1.ExposedAPIList
			var svcs, cachedSvcs corev1.ServiceList
			if env.Client.List(t.Context(), &apis, client.InNamespace(ns)) != nil || c.List(t.Context(), &cached, client.InNamespace(ns)) != nil ||
				env.Client.List(t.Context(), &svcs, client.InNamespace(ns)) != nil || c.List(t.Context(), &cachedSvcs, client.InNamespace(ns)) != nil {
				return false
			}
			if len(apis.Items) != len(cached.Items) || len(svcs.Items) != len(cachedSvcs.Items) {
				return false
			}
		}
		return true
	}, 30*time.Second, 50*time.Millisecond)
}

// TestAPIsOfPodWakesTheMetricsAPIsOfItsServicesAndRecord: a pod event wakes the metrics APIs
// of its namespace whose implementation Service selects the pod (a selector of several
// pairs wholly, a Service without a selector never), and the metrics APIs its record names;
// not APIs of other types, of a Service missing, of another namespace, nor one the record
// names that does not exist.
func TestAPIsOfPodWakesTheMetricsAPIsOfItsServicesAndRecord(t *testing.T) {
	env := harness.Start(t, harness.Generated)
	ns := env.Namespace(t, "shop")
	other := env.Namespace(t, "other")
	env.Service(t, ns, "svc-a", map[string]string{"app": "a"})
	env.Service(t, ns, "svc-a-web", map[string]string{"app": "a", "tier": "web"})
	env.Service(t, ns, "svc-web", map[string]string{"tier": "web"})
	env.Service(t, ns, "svc-b", map[string]string{"app": "b"})
	env.Service(t, ns, "svc-none", nil)
	env.Service(t, other, "svc-a", map[string]string{"app": "a"})
	createAPI(t, env, ns, "m-a", "svc-a", odav1.APITypePrometheus)
	createAPI(t, env, ns, "m-a-open", "svc-a", odav1.APITypeOpenMetrics)
	createAPI(t, env, ns, "rest-a", "svc-a", odav1.APITypeOpenAPI)
	createAPI(t, env, ns, "m-a-web", "svc-a-web", odav1.APITypePrometheus)
	createAPI(t, env, ns, "m-web", "svc-web", odav1.APITypePrometheus)
	createAPI(t, env, ns, "m-b", "svc-b", odav1.APITypePrometheus)
	createAPI(t, env, ns, "m-none", "svc-none", odav1.APITypePrometheus)
	createAPI(t, env, ns, "m-missing", "no-such-svc", odav1.APITypePrometheus)
	createAPI(t, env, ns, "rest-b", "svc-b", odav1.APITypeOpenAPI)
	createAPI(t, env, other, "m-a", "svc-a", odav1.APITypePrometheus)
	s, c := scraperOnCache(t, env)
	waitForCache(t, env, c, ns, other)

	pod := func(labels map[string]string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "p", Labels: labels}}
	}
	in := func(names ...string) []string {
		for i := range names {
			names[i] = ns + "/" + names[i]
		}
		return names
	}
	cases := map[string]struct {
		pod  *corev1.Pod
		want []string
	}{
		"app a":                 {pod(map[string]string{"app": "a"}), in("m-a", "m-a-open")},
		"app a, web tier":       {pod(map[string]string{"app": "a", "tier": "web", "extra": "x"}), in("m-a", "m-a-open", "m-a-web", "m-web")},
		"web tier":              {pod(map[string]string{"tier": "web"}), in("m-web")},
		"no labels":             {pod(nil), nil},
		"labels no Service has": {pod(map[string]string{"app": "c"}), nil},
		"record only":           {recording(pod(map[string]string{"app": "c"}), "m-b", "rest-b", "gone", "m-none"), in("m-b", "m-none")},
		"selected and recorded": {recording(pod(map[string]string{"app": "a"}), "m-a", "m-missing"), in("m-a", "m-a-open", "m-missing")},
		"record edited by hand": {func() *corev1.Pod {
			p := pod(map[string]string{"app": "b"})
			p.Annotations = map[string]string{metrics.StateAnnotation: "{"}
			return p
		}(), in("m-b")},
		"value of another label": {pod(map[string]string{"tier": "a", "app": "web"}), nil},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, tc.want, woken(s, tc.pod))
		})
	}
}

// TestAPIsOfPodCostsWhatItWakes: a pod event's reads, and the objects they return, are the
// same in a namespace of 3 metrics APIs as in one of 60, each with its own Service: they
// were one Service read per metrics API of the namespace, for every pod at every start.
func TestAPIsOfPodCostsWhatItWakes(t *testing.T) {
	env := harness.Start(t, harness.Generated)
	s, c := scraperOnCache(t, env)
	cost := map[int][2]int{}
	for _, m := range []int{3, 60} {
		ns := env.Namespace(t, fmt.Sprintf("components-%d", m))
		for i := range m {
			env.Service(t, ns, fmt.Sprintf("c%d-svc", i), map[string]string{"app": fmt.Sprintf("c%d", i)})
			createAPI(t, env, ns, fmt.Sprintf("c%d-metrics", i), fmt.Sprintf("c%d-svc", i), odav1.APITypePrometheus)
		}
		waitForCache(t, env, c, ns)
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "c1-0",
			Labels: map[string]string{"app": "c1", "pod-template-hash": "abc"}}}
		c.reset()
		assert.Equal(t, []string{ns + "/c1-metrics"}, woken(s, pod))
		reads, objects := c.reset()
		t.Logf("%d metrics APIs in the namespace: one pod event, %d cache reads returning %d objects", m, reads, objects)
		cost[m] = [2]int{reads, objects}
	}
	assert.Equal(t, cost[3], cost[60], "a pod event's reads (and objects read) grow with the metrics APIs of its namespace")
}
