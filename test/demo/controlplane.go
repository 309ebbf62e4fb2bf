// Package demo runs the operator on a local embedded control plane with the samples:
// what `make demo` shows a newcomer, and what its test checks.
package demo

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// Webhook configuration names in config/webhook.
const (
	mutatingName   = "mutating-webhook-configuration"
	validatingName = "validating-webhook-configuration"
)

// controlPlane starts kube-apiserver and etcd with our CRDs, Istio's, the ServiceMonitor
// and test Component CRDs, and our webhook configurations.
func controlPlane(root, assets string) (*envtest.Environment, error) {
	istio, err := moduleDir("istio.io/api")
	if err != nil {
		return nil, err
	}
	env := &envtest.Environment{
		BinaryAssetsDirectory: assets,
		CRDInstallOptions: envtest.CRDInstallOptions{
			Paths: []string{
				filepath.Join(root, "config", "crd", "bases"),
				filepath.Join(root, "test", "crds"),
				filepath.Join(istio, "kubernetes", "customresourcedefinitions.gen.yaml"),
			},
			ErrorIfPathMissing: true,
		},
		WebhookInstallOptions: envtest.WebhookInstallOptions{
			Paths:            []string{filepath.Join(root, "config", "webhook")},
			LocalServingHost: "localhost", LocalServingHostExternalName: "localhost",
		},
	}
	if _, err := env.Start(); err != nil {
		return nil, fmt.Errorf("starting the control plane: %w", err)
	}
	return env, nil
}

// forgetEnvtestCA drops the CA bundle envtest wrote, so that the one the operator's
// self-managed certificates write is the only one the API server trusts.
func forgetEnvtestCA(ctx context.Context, c client.Client) error {
	m := &admissionregistrationv1.MutatingWebhookConfiguration{}
	if err := c.Get(ctx, client.ObjectKey{Name: mutatingName}, m); err != nil {
		return err
	}
	for i := range m.Webhooks {
		m.Webhooks[i].ClientConfig.CABundle = nil
	}
	if err := c.Update(ctx, m); err != nil {
		return err
	}
	v := &admissionregistrationv1.ValidatingWebhookConfiguration{}
	if err := c.Get(ctx, client.ObjectKey{Name: validatingName}, v); err != nil {
		return err
	}
	for i := range v.Webhooks {
		v.Webhooks[i].ClientConfig.CABundle = nil
	}
	return c.Update(ctx, v)
}

func moduleDir(module string) (string, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", module).Output()
	if err != nil {
		return "", fmt.Errorf("locating module %s: %w", module, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// writeKubeconfig writes an admin kubeconfig for the control plane into dir.
func writeKubeconfig(env *envtest.Environment, dir string) (string, error) {
	user, err := env.AddUser(envtest.User{Name: "demo-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return "", err
	}
	raw, err := user.KubeConfig()
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "kubeconfig")
	return path, os.WriteFile(path, raw, 0o600)
}
