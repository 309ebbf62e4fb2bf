package metrics_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/controllers/metrics"
	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// laggingCache answers every indexed pod lookup as a cache would that has not yet seen the
// pod writes just made: with nothing. All else goes to the API server.
type laggingCache struct{ client.Client }

func (c laggingCache) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	if _, pods := list.(*corev1.PodList); pods && indexed(opts) {
		return nil
	}
	return c.Client.List(ctx, list, opts...)
}

func indexed(opts []client.ListOption) bool {
	o := &client.ListOptions{}
	o.ApplyOptions(opts)
	return o.FieldSelector != nil
}

// TestFinalizeCleansPodsTheCacheHasNotSeen: an API is deleted right after it annotated a
// pod, before the pod cache has seen that write. Its finalizer goes only once the pod shows
// its own values again, not when the cache says no pod carries the API.
func TestFinalizeCleansPodsTheCacheHasNotSeen(t *testing.T) {
	ctx := t.Context()
	env := harness.Start(t, harness.Generated)
	ns := env.Namespace(t, "shop")
	pod := env.Pod(t, ns, "p1", map[string]string{"app": "shop"})
	env.Service(t, ns, "shop-metrics", map[string]string{"app": "shop"})
	api := harness.API(ns, "metrics", "/metrics", "shop-metrics", 9090)
	api.Spec.APIType = odav1.APITypePrometheus
	require.NoError(t, env.Client.Create(ctx, api))

	s := &metrics.Scraper{Client: laggingCache{env.Client}, APIReader: env.Client, Pattern: metrics.PrometheusAnnotation}
	c, err := s.Ensure(ctx, api, &api.Spec)
	require.NoError(t, err)
	require.Equal(t, "PodsAnnotated", c.Reason, c.Message)
	require.NoError(t, env.Client.Get(ctx, client.ObjectKeyFromObject(pod), pod))
	require.Equal(t, "true", pod.Annotations[metrics.PrometheusScrape], "the pod is annotated")

	require.NoError(t, s.Finalize(ctx, api, false))
	require.NoError(t, env.Client.Get(ctx, client.ObjectKeyFromObject(pod), pod))
	assert.Empty(t, pod.Annotations, "the API's annotations and record are gone from the pod")
	require.NoError(t, env.Client.Get(ctx, client.ObjectKeyFromObject(api), api))
	assert.NotContains(t, api.Finalizers, metrics.Finalizer)
}

// countingTransport counts the bytes of the API server's answers.
type countingTransport struct {
	http.RoundTripper
	bytes *atomic.Int64
}

func (c countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.RoundTripper.RoundTrip(req)
	if err == nil {
		resp.Body = countingBody{resp.Body, c.bytes}
	}
	return resp, err
}

type countingBody struct {
	io.ReadCloser
	bytes *atomic.Int64
}

func (b countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.bytes.Add(int64(n))
	return n, err
}

// TestFinalizeReadsPodsAsMetadata: finalizing a metrics API lists its namespace's pods
// from the API server, once per API (at each deletion, and for each API in the drain of a
// switch to ServiceMonitor). It read them whole; the record and the annotations it edits
// are metadata, and reading only that is a fraction of the bytes.
func TestFinalizeReadsPodsAsMetadata(t *testing.T) {
	ctx := t.Context()
	env := harness.Start(t, harness.Generated)
	ns := env.Namespace(t, "shop")
	var env20 []corev1.EnvVar
	for i := range 20 {
		env20 = append(env20, corev1.EnvVar{Name: fmt.Sprintf("SETTING_%d", i), Value: strings.Repeat("v", 100)})
	}
	for i := range 20 {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("p%d", i), Labels: map[string]string{"app": "shop"}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "example/app:1", Env: env20}}}}
		require.NoError(t, env.Client.Create(ctx, pod))
	}
	env.Service(t, ns, "shop-metrics", map[string]string{"app": "shop"})
	var read atomic.Int64
	cfg := rest.CopyConfig(env.Config)
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { return countingTransport{rt, &read} }
	direct, err := client.New(cfg, client.Options{Scheme: env.Client.Scheme()})
	require.NoError(t, err)

	// The first request also discovers the API: the pods whole are the second's bytes.
	var whole corev1.PodList
	require.NoError(t, direct.List(ctx, &whole, client.InNamespace(ns)))
	read.Store(0)
	require.NoError(t, direct.List(ctx, &whole, client.InNamespace(ns)))
	wholeBytes := read.Load()

	s := &metrics.Scraper{Client: env.Client, APIReader: direct, Pattern: metrics.ServiceMonitor}
	for i := range 3 {
		api := harness.API(ns, fmt.Sprintf("metrics-%d", i), "/metrics", "shop-metrics", 9090)
		api.Spec.APIType = odav1.APITypePrometheus
		api.Finalizers = []string{metrics.Finalizer}
		require.NoError(t, env.Client.Create(ctx, api))
		read.Store(0)
		require.NoError(t, s.Finalize(ctx, api, false))
		t.Logf("finalizing an API read %d bytes from the API server; the namespace's %d pods whole are %d bytes", read.Load(), len(whole.Items), wholeBytes)
		assert.Less(t, read.Load(), wholeBytes/2, "a finalizer reads the namespace's pods whole")
	}
}

// TestFinalizeKeepsTheOtherAPIsDataDogCheck: under the DataDog pattern, finalizing one of
// two APIs on a pod leaves the pod the other's check, under the key named after its first
// container, which is not metadata; with the operator's RBAC (config/rbac, which grants no
// more than the chart on pods), which has no get of a pod.
func TestFinalizeKeepsTheOtherAPIsDataDogCheck(t *testing.T) {
	ctx := t.Context()
	env := harness.Start(t, harness.Generated)
	ns := env.Namespace(t, "shop")
	pod := env.Pod(t, ns, "p1", map[string]string{"app": "shop"})
	env.Service(t, ns, "shop-metrics", map[string]string{"app": "shop"})
	s := &metrics.Scraper{Client: laggingCache{env.Client}, APIReader: env.Client, Pattern: metrics.DataDogAnnotation}
	var apis []*odav1.ExposedAPI
	for _, name := range []string{"first", "second"} {
		api := harness.API(ns, name, "/"+name, "shop-metrics", 9090)
		api.Spec.APIType = odav1.APITypePrometheus
		require.NoError(t, env.Client.Create(ctx, api))
		_, err := s.Ensure(ctx, api, &api.Spec)
		require.NoError(t, err)
		apis = append(apis, api)
	}
	operator := asOperator(t, env)
	s = &metrics.Scraper{Client: laggingCache{operator}, APIReader: operator, Pattern: metrics.DataDogAnnotation}
	require.NoError(t, s.Finalize(ctx, apis[0], false))
	require.NoError(t, env.Client.Get(ctx, client.ObjectKeyFromObject(pod), pod))
	check := pod.Annotations["ad.datadoghq.com/app.checks"]
	assert.Contains(t, check, "/second", "the other API's check stays")
	assert.NotContains(t, check, "/first")
}

// asOperator is a client of a user bound to the ClusterRole of config/rbac/role.yaml, the
// kubebuilder markers' RBAC.
func asOperator(t *testing.T, env *harness.Env) client.Client {
	t.Helper()
	ctx := t.Context()
	raw, err := os.ReadFile(filepath.Join(harness.RepoRoot(t), "config", "rbac", "role.yaml"))
	require.NoError(t, err)
	role := &rbacv1.ClusterRole{}
	require.NoError(t, yaml.Unmarshal(raw, role))
	role.Name = "operator"
	require.NoError(t, env.Client.Create(ctx, role))
	require.NoError(t, env.Client.Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "operator"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "operator"}}}))
	cfg := rest.CopyConfig(env.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: "operator"}
	c, err := client.New(cfg, client.Options{Scheme: env.Client.Scheme()})
	require.NoError(t, err)
	return c
}
