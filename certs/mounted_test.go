package certs_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/oda-canvas/api-operator-istio/certs"
	"github.com/oda-canvas/api-operator-istio/internal/app"
	"github.com/oda-canvas/api-operator-istio/test/harness"
)

func mounted(t *testing.T, names string) (certs.Options, []byte) {
	dir := t.TempDir()
	certs.WritePair(t, dir, 1)
	crt, err := os.ReadFile(filepath.Join(dir, "tls.crt"))
	require.NoError(t, err)
	return certs.Options{CertDir: dir, FileCheckInterval: 50 * time.Millisecond, MutatingWebhookName: names, ValidatingWebhookName: names}, crt
}

// TestMountedNotReadyUntilTheBundlesVerifyIt: with mounted certificates (cert-manager's),
// cert-manager's cainjector writes the webhook configurations' CA bundles a moment after
// the Secret; until every entry's bundle verifies the served certificate each admission
// call fails its TLS check, so the replica is not ready, and says why. Once they have, it
// stays ready.
func TestMountedNotReadyUntilTheBundlesVerifyIt(t *testing.T) {
	env := harness.Start(t, harness.Generated)
	createConfigurations(t, env)
	o, crt := mounted(t, configName)
	p, err := certs.New(env.Config, env.Client, env.Client, o)
	require.NoError(t, err)
	require.False(t, p.SelfManaged())
	certs.Run(t, p)

	notYet := func() error {
		if err := p.Checker(nil); err == nil || !strings.Contains(err.Error(), "does not verify the mounted serving certificate yet") {
			return fmt.Errorf("readiness: %v", err)
		}
		return nil
	}
	harness.Eventually(t, "not ready while the bundles are empty", notYet)
	other := certs.Encode(certs.NewTestCA(t))
	setBundles(t, env, other)
	require.NoError(t, notYet(), "ready with another CA's bundle")
	setBundles(t, env, append(append([]byte{}, other...), crt...))
	require.NoError(t, p.Checker(nil), "not ready once every bundle verifies the certificate")
	setBundles(t, env, nil)
	require.NoError(t, p.Checker(nil), "unready again once the bundles had verified it")
}

// TestMountedReadyWithNothingToWaitFor: configurations of other names, or none that the
// operator may read, do not hold a replica back.
func TestMountedReadyWithNothingToWaitFor(t *testing.T) {
	env := harness.Start(t, harness.Generated)
	createConfigurations(t, env)
	o, _ := mounted(t, "absent")
	p, err := certs.New(env.Config, env.Client, env.Client, o)
	require.NoError(t, err)
	certs.Run(t, p)
	harness.Eventually(t, "ready, no configuration of its names", func() error { return p.Checker(nil) })

	cfg := rest.CopyConfig(env.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: "no-grants"}
	forbidden, err := client.New(cfg, client.Options{Scheme: app.Scheme()})
	require.NoError(t, err)
	o, _ = mounted(t, configName)
	p, err = certs.New(env.Config, forbidden, forbidden, o)
	require.NoError(t, err)
	certs.Run(t, p)
	harness.Eventually(t, "ready, the configurations not readable", func() error { return p.Checker(nil) })
}

// setBundles sets the CA bundle of every entry of both test configurations.
func setBundles(t *testing.T, env *harness.Env, bundle []byte) {
	t.Helper()
	ctx := context.Background()
	v := &admissionregistrationv1.ValidatingWebhookConfiguration{}
	require.NoError(t, env.Client.Get(ctx, client.ObjectKey{Name: configName}, v))
	for i := range v.Webhooks {
		v.Webhooks[i].ClientConfig.CABundle = bundle
	}
	require.NoError(t, env.Client.Update(ctx, v))
	m := &admissionregistrationv1.MutatingWebhookConfiguration{}
	require.NoError(t, env.Client.Get(ctx, client.ObjectKey{Name: configName}, m))
	for i := range m.Webhooks {
		m.Webhooks[i].ClientConfig.CABundle = bundle
	}
	require.NoError(t, env.Client.Update(ctx, m))
}
