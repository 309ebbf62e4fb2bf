package certs

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

const (
	testNS     = "operator-system"
	testSecret = "webhook-ca"
	testHooks  = "api-operator-istio"
	testDNS    = "webhook.operator-system.svc"
)

// startAPIServer runs a real API server (envtest), skipping when its binaries are missing.
func startAPIServer(t *testing.T) (*envtest.Environment, client.Client) {
	t.Helper()
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		assets = filepath.Join("..", "bin", "k8s")
	}
	if _, err := os.Stat(filepath.Join(assets, "kube-apiserver")); err != nil {
		t.Skipf("no kube-apiserver in %s (set KUBEBUILDER_ASSETS or run 'make envtest-assets'): %v", assets, err)
	}
	env := &envtest.Environment{BinaryAssetsDirectory: assets}
	cfg, err := env.Start()
	require.NoError(t, err)
	t.Cleanup(func() { _ = env.Stop() })
	c, err := client.New(cfg, client.Options{Scheme: scheme.Scheme})
	require.NoError(t, err)
	return env, c
}

// webhookEntry points at a Service that does not exist and is ignored when unreachable.
func webhookEntry(name string) (admissionregistrationv1.WebhookClientConfig, admissionregistrationv1.RuleWithOperations) {
	return admissionregistrationv1.WebhookClientConfig{
			Service: &admissionregistrationv1.ServiceReference{Namespace: testNS, Name: "webhook", Path: ptr.To("/" + name)},
		}, admissionregistrationv1.RuleWithOperations{
			Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
			Rule:       admissionregistrationv1.Rule{APIGroups: []string{"example.org"}, APIVersions: []string{"v1"}, Resources: []string{"widgets"}},
		}
}

func createWebhookConfigurations(t *testing.T, c client.Client) {
	t.Helper()
	ctx := context.Background()
	m := &admissionregistrationv1.MutatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: testHooks}}
	v := &admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: testHooks}}
	for _, name := range []string{"one.example.org", "two.example.org"} {
		cc, rule := webhookEntry(name)
		m.Webhooks = append(m.Webhooks, admissionregistrationv1.MutatingWebhook{
			Name: name, ClientConfig: cc, Rules: []admissionregistrationv1.RuleWithOperations{rule},
			FailurePolicy: ptr.To(admissionregistrationv1.Ignore), SideEffects: ptr.To(admissionregistrationv1.SideEffectClassNone),
			AdmissionReviewVersions: []string{"v1"},
		})
		v.Webhooks = append(v.Webhooks, admissionregistrationv1.ValidatingWebhook{
			Name: name, ClientConfig: cc, Rules: []admissionregistrationv1.RuleWithOperations{rule},
			FailurePolicy: ptr.To(admissionregistrationv1.Ignore), SideEffects: ptr.To(admissionregistrationv1.SideEffectClassNone),
			AdmissionReviewVersions: []string{"v1"},
		})
	}
	require.NoError(t, c.Create(ctx, m))
	require.NoError(t, c.Create(ctx, v))
}

// bundles are the caBundle of every entry of both configurations, nil when unreadable
// (it runs inside Eventually, off the test's goroutine, so it must not fail the test).
func bundles(c client.Client) []string {
	ctx := context.Background()
	m := &admissionregistrationv1.MutatingWebhookConfiguration{}
	v := &admissionregistrationv1.ValidatingWebhookConfiguration{}
	if c.Get(ctx, client.ObjectKey{Name: testHooks}, m) != nil || c.Get(ctx, client.ObjectKey{Name: testHooks}, v) != nil {
		return nil
	}
	var out []string
	for _, w := range webhooksOf(m) {
		out = append(out, string(w.caBundle))
	}
	for _, w := range webhooksOf(v) {
		out = append(out, string(w.caBundle))
	}
	return out
}

// caOf is the CA the Secret holds, empty until there is one.
func caOf(c client.Client) string {
	s := &corev1.Secret{}
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: testNS, Name: testSecret}, s); err != nil {
		return ""
	}
	return string(s.Data["ca.crt"])
}

// allAre: all four caBundles (two entries in each configuration) are ca.
func allAre(c client.Client, ca string) bool {
	got := bundles(c)
	return len(got) == 4 && slices.Equal(got, []string{ca, ca, ca, ca})
}

func TestSelfManagedCAInjectedAndRotated(t *testing.T) {
	env, c := startAPIServer(t)
	ctx := context.Background()
	require.NoError(t, c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: testNS}}))
	createWebhookConfigurations(t, c)

	p, err := New(env.Config, c, c, Options{
		CertDir:         t.TempDir(), // empty: self-managed
		SecretNamespace: testNS, SecretName: testSecret, DNSNames: []string{testDNS},
		MutatingWebhookName: testHooks, ValidatingWebhookName: testHooks,
		CADuration: time.Hour, LeafDuration: 10 * time.Minute,
	})
	require.NoError(t, err)
	require.True(t, p.SelfManaged())
	p.injector.resync = time.Second // to see a reset bundle written again quickly
	require.Error(t, p.Checker(nil), "not ready before a certificate is issued")

	addr := serve(t, p)
	run(t, p)
	require.Eventually(t, func() bool { return caOf(c) != "" }, 15*time.Second, 100*time.Millisecond, "the CA Secret is created")
	first := caOf(c)
	require.Eventually(t, func() bool { return allAre(c, first) }, 10*time.Second, 100*time.Millisecond,
		"the CA bundle is in every entry of both configurations")
	require.Eventually(t, func() bool { return p.Checker(nil) == nil }, 10*time.Second, 50*time.Millisecond)
	cert, err := served(addr, testDNS, []byte(first))
	require.NoError(t, err, "the served certificate verifies against the injected bundle")
	assert.Equal(t, []string{testDNS}, cert.DNSNames)

	// Something resets one entry: it is written again.
	reset := []byte(`[{"op":"remove","path":"/webhooks/0/clientConfig/caBundle"}]`)
	v := &admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: testHooks}}
	require.NoError(t, c.Patch(ctx, v, client.RawPatch(types.JSONPatchType, reset)))
	require.Eventually(t, func() bool { return allAre(c, first) }, 10*time.Second, 100*time.Millisecond,
		"a reset bundle is written again")

	// The CA rotates (here: its Secret is deleted and made anew): the new bundle is
	// injected and the serving certificate is reissued from the new CA.
	require.NoError(t, c.Delete(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: testNS, Name: testSecret}}))
	require.Eventually(t, func() bool { ca := caOf(c); return ca != "" && ca != first }, 15*time.Second, 100*time.Millisecond)
	second := caOf(c)
	require.Eventually(t, func() bool { return allAre(c, second) }, 10*time.Second, 100*time.Millisecond,
		"the rotated CA is injected")
	require.Eventually(t, func() bool {
		_, err := served(addr, testDNS, []byte(second))
		return err == nil
	}, 10*time.Second, 100*time.Millisecond, "the serving certificate is reissued from the new CA")
}
