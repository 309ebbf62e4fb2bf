package certs_test

import (
	"context"
	"crypto/x509"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/oda-canvas/api-operator-istio/certs"
	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// staleReader returns what the configuration was when the injector read it, before
// someone changed it.
type staleReader struct {
	client.Reader
	read *admissionregistrationv1.ValidatingWebhookConfiguration
}

func (r staleReader) Get(_ context.Context, _ client.ObjectKey, obj client.Object, _ ...client.GetOption) error {
	r.read.DeepCopyInto(obj.(*admissionregistrationv1.ValidatingWebhookConfiguration))
	return nil
}

// TestInjectRefusesAReorderedConfiguration: the configuration was reordered between the
// injector's read and its patch (a deploy tool applied it again); the patch, by index,
// must not land on other entries than those it read, and the injector must say so, to
// try again at once rather than at the next resync.
func TestInjectRefusesAReorderedConfiguration(t *testing.T) {
	env := harness.Start(t, harness.Generated)
	ctx := context.Background()
	ca := certs.NewTestCA(t)
	ours, other := certs.Encode(ca), []byte("another CA")
	read := webhookConfiguration(entry("a.example.org", nil), entry("b.example.org", ours))
	require.NoError(t, env.Client.Create(ctx, read.DeepCopy()))
	reordered := &admissionregistrationv1.ValidatingWebhookConfiguration{}
	require.NoError(t, env.Client.Get(ctx, client.ObjectKeyFromObject(read), reordered))
	reordered.Webhooks = []admissionregistrationv1.ValidatingWebhook{entry("b.example.org", other), entry("a.example.org", nil)}
	require.NoError(t, env.Client.Update(ctx, reordered))

	got := injectFromStaleRead(t, env, read, reordered, ca, "a patch by index on a reordered configuration is refused")
	for _, w := range got.Webhooks {
		assert.Equal(t, ours, w.ClientConfig.CABundle, "read again, every entry has the bundle: %s", w.Name)
	}
}

func webhookConfiguration(webhooks ...admissionregistrationv1.ValidatingWebhook) *admissionregistrationv1.ValidatingWebhookConfiguration {
	v := &admissionregistrationv1.ValidatingWebhookConfiguration{Webhooks: webhooks}
	v.Name = "inject-test"
	return v
}

func entry(name string, bundle []byte) admissionregistrationv1.ValidatingWebhook {
	none := admissionregistrationv1.SideEffectClassNone
	return admissionregistrationv1.ValidatingWebhook{
		Name: name, AdmissionReviewVersions: []string{"v1"}, SideEffects: &none,
		ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: ptr.To("https://" + name + "/validate"), CABundle: bundle},
	}
}

// TestInjectRefusesAChangedBundle: between the injector's read and its patch, another
// replica wrote a newer CA into the bundles (its Secret read came after a rotation this
// one's did not see). The patch, computed from the read, must not land and drop that CA,
// whose leaf the other replica is about to serve; read again, both CAs are kept.
func TestInjectRefusesAChangedBundle(t *testing.T) {
	env := harness.Start(t, harness.Generated)
	ctx := context.Background()
	older, newer := certs.NewTestCA(t), certs.NewTestCA(t)
	require.NoError(t, env.Client.Create(ctx, webhookConfiguration(entry("a.example.org", nil), entry("b.example.org", nil))))
	read := &admissionregistrationv1.ValidatingWebhookConfiguration{}
	require.NoError(t, env.Client.Get(ctx, client.ObjectKey{Name: "inject-test"}, read))
	written := read.DeepCopy()
	for i := range written.Webhooks {
		written.Webhooks[i].ClientConfig.CABundle = certs.Encode(newer)
	}
	require.NoError(t, env.Client.Update(ctx, written))

	got := injectFromStaleRead(t, env, read, written, older, "a patch computed from a configuration changed since is refused")
	for _, w := range got.Webhooks {
		assert.Equal(t, append(certs.Encode(older), certs.Encode(newer)...), w.ClientConfig.CABundle, "read again, both CAs: %s", w.Name)
	}
}

// injectFromStaleRead injects ca from read after the configuration became stored: the
// patch must be refused (why) with nothing written; injected again from a fresh read, it
// lands. It returns the configuration then.
func injectFromStaleRead(t *testing.T, env *harness.Env, read, stored *admissionregistrationv1.ValidatingWebhookConfiguration, ca *x509.Certificate, why string) *admissionregistrationv1.ValidatingWebhookConfiguration {
	ctx := context.Background()
	err := certs.Inject(ctx, staleReader{read: read}, env.Client, &admissionregistrationv1.ValidatingWebhookConfiguration{}, read.Name, ca)
	require.Error(t, err, why)
	got := &admissionregistrationv1.ValidatingWebhookConfiguration{}
	require.NoError(t, env.Client.Get(ctx, client.ObjectKeyFromObject(read), got))
	assert.Equal(t, stored.Webhooks, got.Webhooks, "nothing written")

	require.NoError(t, certs.Inject(ctx, env.Client, env.Client, &admissionregistrationv1.ValidatingWebhookConfiguration{}, read.Name, ca))
	require.NoError(t, env.Client.Get(ctx, client.ObjectKeyFromObject(read), got))
	return got
}
