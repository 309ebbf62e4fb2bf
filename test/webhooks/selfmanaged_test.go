package webhooks

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// TestSelfManagedCertificates: with no certificate mounted, the operator makes its CA, keeps
// it in a Secret, writes the bundle into its webhook configurations, and the API server
// reaches the webhooks trusting that bundle alone.
func TestSelfManagedCertificates(t *testing.T) {
	ctx := context.Background()
	env := harness.StartWithWebhooks(t, harness.Generated)
	env.Namespace(t, "components")
	env.Namespace(t, "operator")
	const mutating, validating = harness.MutatingWebhookName, harness.ValidatingWebhookName
	require.NoError(t, harness.ClearCABundles(ctx, env.Client))

	o := harness.DefaultOptions()
	host, port, _ := env.WebhookServing()
	o.EnableWebhooks, o.WebhookHost, o.WebhookPort, o.WebhookCertDir = true, host, port, t.TempDir()
	o.WebhookNamespace, o.CASecretName = "operator", "api-operator-istio-ca"
	o.MutatingWebhookName, o.ValidatingWebhookName = mutating, validating
	o.WebhookServiceName, o.WebhookExtraDNSNames = "api-operator-istio-webhook", []string{"localhost"}
	op := harness.StartOperator(t, env, o)

	secret := &corev1.Secret{}
	harness.Eventually(t, "the CA Secret and both bundles", func() error {
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: "operator", Name: "api-operator-istio-ca"}, secret); err != nil {
			return err
		}
		for _, b := range bundles(t, env, mutating, validating) {
			if !bytes.Equal(b, secret.Data["ca.crt"]) {
				return fmt.Errorf("a webhook's caBundle is not the Secret's CA")
			}
		}
		return nil
	})
	require.True(t, strings.HasPrefix(string(secret.Data["ca.crt"]), "-----BEGIN CERTIFICATE-----"))

	waitRefusedByWebhook(t, env)
	checkReady(t, op)

	// The CA Secret is deleted (by mistake, or to rotate the CA): a new CA is made, both
	// bundles follow it, and the webhooks are served with a certificate it signed.
	old := secret.Data["ca.crt"]
	require.NoError(t, env.Client.Delete(ctx, secret))
	harness.Eventually(t, "a new CA in the Secret and both bundles", func() error {
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: "operator", Name: "api-operator-istio-ca"}, secret); err != nil {
			return err
		}
		if bytes.Equal(secret.Data["ca.crt"], old) {
			return fmt.Errorf("still the old CA")
		}
		for _, b := range bundles(t, env, mutating, validating) {
			if !bytes.Equal(b, secret.Data["ca.crt"]) {
				return fmt.Errorf("a webhook's caBundle is not the new CA")
			}
		}
		return nil
	})
	waitRefusedByWebhook(t, env)
}

// waitRefusedByWebhook waits until the API server calls the validating webhook (trusting
// the bundle in place) and gets its refusal of a bad port.
func waitRefusedByWebhook(t *testing.T, env *harness.Env) {
	t.Helper()
	harness.Eventually(t, "the API server to call the webhook", func() error {
		err := env.Client.Create(context.Background(), object("bad", merged(map[string]any{"port": int64(70000)}), nil), client.DryRunAll)
		if err == nil || !strings.Contains(err.Error(), `denied the request: ExposedAPI.oda.tmforum.org "bad" is invalid: spec.port`) {
			return fmt.Errorf("not refused by the webhook: %v", err)
		}
		return nil
	})
}

func checkReady(t *testing.T, op *harness.Operator) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "/readyz", nil)
	harness.Eventually(t, "readyz", func() error { return op.ReadyCheck(req) })
}

func bundles(t *testing.T, env *harness.Env, mutating, validating string) [][]byte {
	t.Helper()
	out, err := harness.CABundles(context.Background(), env.Client, mutating, validating)
	require.NoError(t, err)
	return out
}
