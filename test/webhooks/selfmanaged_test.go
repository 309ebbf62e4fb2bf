package webhooks

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// TestSelfManagedCertificates: with no certificate mounted, the operator makes its CA, keeps
// it in a Secret, writes the bundle into its webhook configurations, and the API server
// reaches the webhooks trusting that bundle alone; when the CA rotates, no call fails.
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

	// The CA rotates: a new CA is made, both bundles get it beside the former one, and the
	// webhooks are served with a certificate it signed, never before the bundle trusts it.
	watched := watchServedUntil(t, env)
	old := secret.Data["ca.crt"]
	secret.Data["ca.crt"] = []byte("differs from tls.crt, which makes the authority renew its CA")
	require.NoError(t, env.Client.Update(ctx, secret))
	harness.Eventually(t, "a new CA in the Secret and, beside the former, in both bundles", func() error {
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: "operator", Name: "api-operator-istio-ca"}, secret); err != nil {
			return err
		}
		if bytes.Equal(secret.Data["ca.crt"], old) || !bytes.HasPrefix(secret.Data["ca.crt"], []byte("-----BEGIN CERTIFICATE-----")) {
			return fmt.Errorf("no new CA yet")
		}
		for _, b := range bundles(t, env, mutating, validating) {
			if !bytes.HasPrefix(b, secret.Data["ca.crt"]) || !bytes.Contains(b, old) {
				return fmt.Errorf("a webhook's caBundle is not the new CA then the former")
			}
		}
		return nil
	})
	harness.Eventually(t, "a serving certificate of the new CA", func() error { return servedBy(env, secret.Data["ca.crt"]) })
	require.Empty(t, watched(), "certificates served that the bundle in place did not trust")
	waitRefusedByWebhook(t, env)
}

// watchServedUntil checks, connection after connection until the returned function is
// called, that the webhook server serves a certificate the validating webhook's bundle,
// read just before, trusts; that returns what did not verify.
func watchServedUntil(t *testing.T, env *harness.Env) func() []string {
	ctx, stop := context.WithCancel(context.Background())
	var failed []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			all, err := harness.CABundles(ctx, env.Client, harness.MutatingWebhookName, harness.ValidatingWebhookName)
			if err == nil {
				err = servedBy(env, all[len(all)-1])
			}
			if err != nil && ctx.Err() == nil {
				failed = append(failed, err.Error())
			}
		}
	}()
	t.Cleanup(stop)
	return func() []string {
		stop()
		<-done
		return failed
	}
}

// servedBy tells whether the webhook server now serves a certificate that bundle trusts.
func servedBy(env *harness.Env, bundle []byte) error {
	host, port, _ := env.WebhookServing()
	return servedAt(host, port, bundle)
}

// servedAt tells whether the server at host and port serves a certificate bundle trusts.
func servedAt(host string, port int, bundle []byte) error {
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(bundle) {
		return fmt.Errorf("no certificate in the bundle")
	}
	conn, err := tls.Dial("tcp", net.JoinHostPort(host, strconv.Itoa(port)), &tls.Config{RootCAs: roots, ServerName: "localhost"})
	if err != nil {
		return err
	}
	return conn.Close()
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

// TestSelfManagedCASharedByReplicas: a second replica takes the CA of the Secret the first
// made and serves a certificate the bundles trust; when the Secret is deleted (the way to
// stop trusting a leaked CA), one new CA is made, and neither replica serves a certificate
// the bundle in place does not trust on the way to serving one of it.
func TestSelfManagedCASharedByReplicas(t *testing.T) {
	ctx := context.Background()
	env := harness.StartWithWebhooks(t, harness.Generated)
	env.Namespace(t, "components")
	env.Namespace(t, "operator")
	require.NoError(t, harness.ClearCABundles(ctx, env.Client))
	host, port, _ := env.WebhookServing()
	replica := func(port int) *harness.Operator {
		o := harness.DefaultOptions()
		o.EnableWebhooks, o.WebhookHost, o.WebhookPort, o.WebhookCertDir = true, host, port, t.TempDir()
		o.WebhookNamespace, o.CASecretName = "operator", "api-operator-istio-ca"
		o.MutatingWebhookName, o.ValidatingWebhookName = harness.MutatingWebhookName, harness.ValidatingWebhookName
		o.WebhookServiceName, o.WebhookExtraDNSNames = "api-operator-istio-webhook", []string{"localhost"}
		o.LeaderElect, o.LeaderElectionNamespace = true, "operator"
		return harness.StartOperator(t, env, o)
	}
	first := replica(port)
	waitRefusedByWebhook(t, env)
	checkReady(t, first)
	secondPort := harness.FreePort(t)
	second := replica(secondPort)
	checkReady(t, second)
	key := client.ObjectKey{Namespace: "operator", Name: "api-operator-istio-ca"}
	secret := &corev1.Secret{}
	require.NoError(t, env.Client.Get(ctx, key, secret))
	old := secret.Data["ca.crt"]
	require.NoError(t, servedAt(host, secondPort, old), "the second replica serves a leaf of the Secret's CA")

	watched := watchServedAtUntil(t, env, port, secondPort)
	require.NoError(t, env.Client.Delete(ctx, secret))
	harness.Eventually(t, "both replicas serving a leaf of a new CA", func() error {
		if err := env.Client.Get(ctx, key, secret); err != nil {
			return err
		}
		if bytes.Equal(secret.Data["ca.crt"], old) {
			return fmt.Errorf("no new CA yet")
		}
		for _, p := range []int{port, secondPort} {
			if err := servedAt(host, p, secret.Data["ca.crt"]); err != nil {
				return fmt.Errorf("port %d: %w", p, err)
			}
		}
		return nil
	})
	require.Empty(t, watched(), "certificates served that the bundle in place did not trust")
	for _, b := range bundles(t, env, harness.MutatingWebhookName, harness.ValidatingWebhookName) {
		require.True(t, bytes.HasPrefix(b, secret.Data["ca.crt"]) && bytes.Contains(b, old), "the new CA, then the former")
	}
	waitRefusedByWebhook(t, env)
}

// watchServedAtUntil is watchServedUntil for the servers on each of ports.
func watchServedAtUntil(t *testing.T, env *harness.Env, ports ...int) func() []string {
	ctx, stop := context.WithCancel(context.Background())
	host, _, _ := env.WebhookServing()
	var failed []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			for _, p := range ports {
				all, err := harness.CABundles(ctx, env.Client, harness.MutatingWebhookName, harness.ValidatingWebhookName)
				if err == nil {
					err = servedAt(host, p, all[len(all)-1])
				}
				if err != nil && ctx.Err() == nil {
					failed = append(failed, fmt.Sprintf("port %d: %v", p, err))
				}
			}
		}
	}()
	t.Cleanup(stop)
	return func() []string {
		stop()
		<-done
		return failed
	}
}
