package helm

import (
	"context"
	"crypto/tls"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// secureMetrics are the values that serve metrics to authorized callers only, with the
// chart's PodMonitor to scrape them.
var secureMetrics = []string{"metrics.secure=true", "metrics.podMonitor.enabled=true"}

var podMonitorGVK = schema.GroupVersionKind{Group: "monitoring.coreos.com", Version: "v1", Kind: "PodMonitor"}

// assertMetricsSecured scrapes the pod's metrics port as the installed PodMonitor has
// Prometheus do it: over TLS verified with the CA and for the server name its tlsConfig
// names, with a token of the ServiceAccount its credentials Secret is for (the token
// controller, absent here, fills that Secret with one; TokenRequest mints another for the
// same account). Without a token the operator answers 401; with the token of an account
// the chart did not bind, 403. The operator runs as the chart's ServiceAccount, so its
// TokenReviews and SubjectAccessReviews rest on the chart's RBAC alone.
func assertMetricsSecured(t *testing.T, env *harness.Env, p *pod) {
	t.Helper()
	endpoint := podMonitorEndpoint(t, env)
	assert.Equal(t, "https", endpoint["scheme"])
	caSecret, _, _ := unstructured.NestedString(endpoint, "tlsConfig", "ca", "secret", "name")
	caKey, _, _ := unstructured.NestedString(endpoint, "tlsConfig", "ca", "secret", "key")
	serverName, _, _ := unstructured.NestedString(endpoint, "tlsConfig", "serverName")
	ca := secretData(t, env, caSecret)[caKey]
	cfg, err := verifying(ca, serverName)
	require.NoError(t, err, "the PodMonitor's CA, %s of Secret %s", caKey, caSecret)
	_, err = servedOn(p, "metrics", serverName, ca)
	require.NoError(t, err)
	// A scraper without the CA: its failed handshake is counted, and logged as a
	// structured entry (see assertLog).
	_, err = tls.Dial("tcp", p.address("metrics"), &tls.Config{MinVersion: tls.VersionTLS12, ServerName: serverName})
	require.Error(t, err, "a client without the CA refuses the certificate")

	scraper := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
	url := "https://" + p.address("metrics") + "/metrics"
	resp, _ := harness.Scrape(t, scraper, url, "")
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "without a token")
	stranger := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: releaseNS, Name: "stranger"}}
	require.NoError(t, env.Client.Create(context.Background(), stranger))
	resp, _ = harness.Scrape(t, scraper, url, env.Token(t, releaseNS, stranger.Name))
	assert.Equal(t, http.StatusForbidden, resp.StatusCode, "with the token of an account not bound to the metrics reader role")

	reader := tokenSecretAccount(t, env, endpoint)
	resp, body := harness.Scrape(t, scraper, url, env.Token(t, releaseNS, reader))
	require.Equal(t, http.StatusOK, resp.StatusCode, "with the token of the PodMonitor's account %s: %s", reader, body)
	assert.Contains(t, body, "controller_runtime_reconcile_total")
	token := env.Token(t, releaseNS, reader)
	// The condition runs on its own goroutine: it collects, and the test fails here.
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		_, body, err := harness.TryScrape(scraper, url, token)
		if assert.NoError(c, err) {
			assert.Regexp(c, handshakeErrors, body)
		}
	}, 10*time.Second, 100*time.Millisecond, "the failed handshake counted")
}

var handshakeErrors = regexp.MustCompile(`(?m)^api_operator_istio_tls_handshake_errors_total [1-9]`)

// podMonitorEndpoint is the installed PodMonitor's one endpoint.
func podMonitorEndpoint(t *testing.T, env *harness.Env) map[string]any {
	t.Helper()
	monitor := &unstructured.Unstructured{}
	monitor.SetGroupVersionKind(podMonitorGVK)
	require.NoError(t, env.Client.Get(context.Background(), client.ObjectKey{Namespace: releaseNS, Name: fullname}, monitor))
	endpoints, _, _ := unstructured.NestedSlice(monitor.Object, "spec", "podMetricsEndpoints")
	require.Len(t, endpoints, 1)
	return endpoints[0].(map[string]any)
}

// tokenSecretAccount is the ServiceAccount whose token the endpoint's credentials Secret
// holds.
func tokenSecretAccount(t *testing.T, env *harness.Env, endpoint map[string]any) string {
	t.Helper()
	name, _, _ := unstructured.NestedString(endpoint, "authorization", "credentials", "name")
	key, _, _ := unstructured.NestedString(endpoint, "authorization", "credentials", "key")
	assert.Equal(t, "token", key, "the key the token controller writes")
	secret := &corev1.Secret{}
	require.NoError(t, env.Client.Get(context.Background(), client.ObjectKey{Namespace: releaseNS, Name: name}, secret))
	require.Equal(t, corev1.SecretTypeServiceAccountToken, secret.Type, "Secret %s", name)
	account := secret.Annotations[corev1.ServiceAccountNameKey]
	require.NotEmpty(t, account, "Secret %s names its ServiceAccount", name)
	return account
}

// TestSecureMetricsRendering: off by default, the metrics port is plain and the operator
// asks the API server nothing about callers; on, the operator may ask, the reader role
// grants get on /metrics alone, and a tlsConfig value replaces the chart's (and is refused
// for a plain port, where it would do nothing).
func TestSecureMetricsRendering(t *testing.T) {
	plain := render(t, "metrics.podMonitor.enabled=true")
	assert.Contains(t, container(t, plain).Args, "--metrics-secure=false")
	assert.NotContains(t, renderedEndpoint(t, plain), "scheme")
	assert.Empty(t, verbsOf(t, find(t, plain, "ClusterRole", fullname+"-cluster"), "authentication.k8s.io", "tokenreviews"))
	for _, obj := range plain {
		assert.NotContains(t, obj.GetName(), "metrics-reader", "%s", obj.GetKind())
	}

	secure := render(t, append(secureMetrics, "certManager.enabled=false")...)
	assert.Contains(t, container(t, secure).Args, "--metrics-secure=true")
	cluster := find(t, secure, "ClusterRole", fullname+"-cluster")
	assert.Equal(t, []string{"create"}, verbsOf(t, cluster, "authentication.k8s.io", "tokenreviews"))
	assert.Equal(t, []string{"create"}, verbsOf(t, cluster, "authorization.k8s.io", "subjectaccessreviews"))
	rules, _, _ := unstructured.NestedSlice(find(t, secure, "ClusterRole", fullname+"-metrics-reader").Object, "rules")
	assert.Equal(t, []any{map[string]any{"nonResourceURLs": []any{"/metrics"}, "verbs": []any{"get"}}}, rules)
	caSecret, _, _ := unstructured.NestedString(renderedEndpoint(t, secure), "tlsConfig", "ca", "secret", "name")
	assert.Equal(t, fullname+"-ca", caSecret, "without cert-manager, the operator's own CA")

	own := render(t, append(secureMetrics, "metrics.podMonitor.tlsConfig.insecureSkipVerify=true")...)
	tlsConfig, _, _ := unstructured.NestedMap(renderedEndpoint(t, own), "tlsConfig")
	assert.Equal(t, map[string]any{"insecureSkipVerify": true}, tlsConfig)
	out, err := helm(t, "template", release, chartDir(t), "--set", "metrics.podMonitor.enabled=true", "--set", "metrics.podMonitor.tlsConfig.insecureSkipVerify=true")
	require.Error(t, err, "a tlsConfig for a plain port")
	assert.Contains(t, out, "metrics.podMonitor.tlsConfig is used only with metrics.secure=true")
}

func renderedEndpoint(t *testing.T, objs []*unstructured.Unstructured) map[string]any {
	t.Helper()
	endpoints, _, _ := unstructured.NestedSlice(find(t, objs, "PodMonitor", fullname).Object, "spec", "podMetricsEndpoints")
	require.Len(t, endpoints, 1)
	return endpoints[0].(map[string]any)
}
