package harness

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
)

// The functions here return errors rather than taking a testing.TB: the demo and the bench
// use them too.

// Webhook configuration names in config/webhook.
const (
	MutatingWebhookName   = "mutating-webhook-configuration"
	ValidatingWebhookName = "validating-webhook-configuration"
)

// FindModuleDir is the directory of a module of the build, from the module cache.
func FindModuleDir(module string) (string, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", module).Output()
	if err != nil || len(bytes.TrimSpace(out)) == 0 {
		return "", fmt.Errorf("locating module %s: %v", module, err)
	}
	return string(bytes.TrimSpace(out)), nil
}

// ClearCABundles drops the CA bundle envtest wrote into our webhook configurations, so
// that only the one the operator's self-managed certificates write is trusted.
func ClearCABundles(ctx context.Context, c client.Client) error {
	m := &admissionregistrationv1.MutatingWebhookConfiguration{}
	if err := c.Get(ctx, client.ObjectKey{Name: MutatingWebhookName}, m); err != nil {
		return err
	}
	for i := range m.Webhooks {
		m.Webhooks[i].ClientConfig.CABundle = nil
	}
	if err := c.Update(ctx, m); err != nil {
		return err
	}
	v := &admissionregistrationv1.ValidatingWebhookConfiguration{}
	if err := c.Get(ctx, client.ObjectKey{Name: ValidatingWebhookName}, v); err != nil {
		return err
	}
	for i := range v.Webhooks {
		v.Webhooks[i].ClientConfig.CABundle = nil
	}
	return c.Update(ctx, v)
}

// CABundles are the CA bundles of every webhook of the two configurations, mutating first.
func CABundles(ctx context.Context, c client.Reader, mutating, validating string) ([][]byte, error) {
	m := &admissionregistrationv1.MutatingWebhookConfiguration{}
	if err := c.Get(ctx, client.ObjectKey{Name: mutating}, m); err != nil {
		return nil, err
	}
	v := &admissionregistrationv1.ValidatingWebhookConfiguration{}
	if err := c.Get(ctx, client.ObjectKey{Name: validating}, v); err != nil {
		return nil, err
	}
	var out [][]byte
	for _, w := range m.Webhooks {
		out = append(out, w.ClientConfig.CABundle)
	}
	for _, w := range v.Webhooks {
		out = append(out, w.ClientConfig.CABundle)
	}
	return out, nil
}

// WaitForWebhook waits until the API server gets an answer from our validating webhook:
// a dry run of an invalid ExposedAPI in namespace ns is refused by it.
func WaitForWebhook(ctx context.Context, c client.Client, ns string, timeout time.Duration) error {
	probe := &odav1.ExposedAPI{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "probe", Labels: map[string]string{odav1.ComponentNameLabel: "probe"}},
		Spec:       odav1.ExposedAPISpec{Name: "probe", APIType: "openapi", Implementation: "probe", Path: "/probe", Port: 70000},
	}
	deadline := time.Now().Add(timeout)
	for {
		err := c.Create(ctx, probe.DeepCopy(), client.DryRunAll)
		if err != nil && strings.Contains(err.Error(), "denied the request") {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the webhooks did not answer within %s: %v", timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// WithoutWebhooks runs store with our webhook configurations removed, as on a cluster where
// objects were stored before the webhooks existed, and puts the configurations back after.
func (e *Env) WithoutWebhooks(t testing.TB, store func() error) {
	t.Helper()
	ctx := context.Background()
	m := &admissionregistrationv1.MutatingWebhookConfiguration{}
	v := &admissionregistrationv1.ValidatingWebhookConfiguration{}
	for _, c := range []struct {
		obj  client.Object
		name string
	}{{m, MutatingWebhookName}, {v, ValidatingWebhookName}} {
		if err := e.Client.Get(ctx, client.ObjectKey{Name: c.name}, c.obj); err != nil {
			t.Fatal(err)
		}
		if err := e.Client.Delete(ctx, c.obj); err != nil {
			t.Fatal(err)
		}
	}
	// The API server drops a deleted configuration from its admission chain shortly after.
	Eventually(t, "stored with no webhook configured", store)
	for _, obj := range []client.Object{m, v} {
		obj.SetResourceVersion("")
		obj.SetUID("")
		if err := e.Client.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
}
