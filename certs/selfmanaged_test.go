package certs_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/oda-canvas/api-operator-istio/certs"
	"github.com/oda-canvas/api-operator-istio/internal/app"
	"github.com/oda-canvas/api-operator-istio/test/harness"
)

const configName = "selfmanaged-test"

var selfManaged = certs.Options{
	CertDir:         "/nonexistent",
	SecretNamespace: "default", SecretName: "webhook-ca", DNSNames: []string{"localhost"},
	MutatingWebhookName: configName, ValidatingWebhookName: configName,
}

// TestInjectorRestoresAResetBundleAtOnce: a deploy tool that applies the webhook
// configurations again with an empty caBundle makes every admission call fail (failurePolicy
// Fail); the injector must put the CA back within seconds, not at its next resync.
func TestInjectorRestoresAResetBundleAtOnce(t *testing.T) {
	env := harness.Start(t, harness.Generated)
	ctx := context.Background()
	createConfigurations(t, env)
	p, err := certs.New(env.Config, env.Client, env.Client, selfManaged)
	require.NoError(t, err)
	certs.SetResync(p, time.Hour)
	certs.Run(t, p)
	waitForCA(t, env, harness.Wait)

	v := &admissionregistrationv1.ValidatingWebhookConfiguration{}
	require.NoError(t, env.Client.Get(ctx, client.ObjectKey{Name: configName}, v))
	v.Webhooks[0].ClientConfig.CABundle = nil
	require.NoError(t, env.Client.Update(ctx, v))
	waitForCA(t, env, 5*time.Second)
}

// TestNotReadyUntilTheBundlesHoldTheCA: a replica whose injector cannot write the bundles
// (here the API server refuses its patches) serves a certificate the API server cannot
// verify, so it must not be ready, and say why; once the bundles hold the CA it is, and an
// API server refusing a later write does not make it unready again.
func TestNotReadyUntilTheBundlesHoldTheCA(t *testing.T) {
	env := harness.Start(t, harness.Generated)
	ctx := context.Background()
	createConfigurations(t, env)
	const user = "injector-without-patch"
	cfg := rest.CopyConfig(env.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user}
	refused, err := client.New(cfg, client.Options{Scheme: app.Scheme()})
	require.NoError(t, err)
	p, err := certs.New(env.Config, env.Client, refused, selfManaged)
	require.NoError(t, err)
	certs.Run(t, p)

	harness.Eventually(t, "not ready, for the refused patch", func() error {
		err := p.Checker(nil)
		if err == nil || !strings.Contains(err.Error(), "CA is not yet in the webhook configurations' CA bundles") ||
			!strings.Contains(err.Error(), "forbidden") {
			return fmt.Errorf("readiness: %v", err)
		}
		return nil
	})
	for range 10 {
		require.Error(t, p.Checker(nil), "ready while the bundles lack the CA")
		time.Sleep(100 * time.Millisecond)
	}

	grant := grantPatch(t, env, user)
	harness.Eventually(t, "ready once the bundles hold the CA", func() error { return p.Checker(nil) })
	waitForCA(t, env, time.Second)

	require.NoError(t, env.Client.Delete(ctx, grant))
	v := &admissionregistrationv1.ValidatingWebhookConfiguration{}
	require.NoError(t, env.Client.Get(ctx, client.ObjectKey{Name: configName}, v))
	v.Webhooks[0].ClientConfig.CABundle = nil
	require.NoError(t, env.Client.Update(ctx, v))
	for range 20 {
		require.NoError(t, p.Checker(nil), "unready again for a write refused after the bundles held the CA")
		time.Sleep(100 * time.Millisecond)
	}
}

func createConfigurations(t *testing.T, env *harness.Env) {
	t.Helper()
	ctx := context.Background()
	v := webhookConfiguration(entry("a.example.org", nil), entry("b.example.org", nil))
	v.Name = configName
	require.NoError(t, env.Client.Create(ctx, v))
	none := admissionregistrationv1.SideEffectClassNone
	m := &admissionregistrationv1.MutatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: configName},
		Webhooks: []admissionregistrationv1.MutatingWebhook{{
			Name: "m.example.org", AdmissionReviewVersions: []string{"v1"}, SideEffects: &none,
			ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: ptr.To("https://m.example.org/mutate")},
		}}}
	require.NoError(t, env.Client.Create(ctx, m))
}

// waitForCA waits until every entry of both configurations holds the CA of the Secret.
func waitForCA(t *testing.T, env *harness.Env, wait time.Duration) {
	t.Helper()
	ctx := context.Background()
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		secret := &corev1.Secret{}
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: "default", Name: "webhook-ca"}, secret); err != nil {
			c.Errorf("the CA Secret: %v", err)
			return
		}
		all, err := harness.CABundles(ctx, env.Client, configName, configName)
		if err != nil {
			c.Errorf("reading the bundles: %v", err)
			return
		}
		for _, b := range all {
			if len(secret.Data["ca.crt"]) == 0 || !bytes.Contains(b, secret.Data["ca.crt"]) {
				c.Errorf("a bundle without the Secret's CA")
			}
		}
	}, wait, harness.Tick, "every bundle holds the CA")
}

// grantPatch lets user patch the webhook configurations, and returns the binding.
func grantPatch(t *testing.T, env *harness.Env, user string) client.Object {
	t.Helper()
	ctx := context.Background()
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: user}, Rules: []rbacv1.PolicyRule{{
		APIGroups: []string{admissionregistrationv1.GroupName},
		Resources: []string{"mutatingwebhookconfigurations", "validatingwebhookconfigurations"}, Verbs: []string{"patch"},
	}}}
	binding := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: user},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: user},
		Subjects: []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: user}}}
	require.NoError(t, env.Client.Create(ctx, role))
	require.NoError(t, env.Client.Create(ctx, binding))
	return binding
}
