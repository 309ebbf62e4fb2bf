// Package demo runs the operator on a local embedded control plane with the samples:
// what `make demo` shows a newcomer, and what its test checks.
package demo

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/oda-canvas/api-operator-istio/test/harness"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// controlPlane starts kube-apiserver and etcd with our CRDs, Istio's, the Gateway API's,
// the ServiceMonitor and test Component CRDs, and our webhook configurations.
func controlPlane(root, assets string) (*envtest.Environment, error) {
	istio, err := harness.FindModuleDir("istio.io/api")
	if err != nil {
		return nil, err
	}
	gatewayAPI, err := harness.FindGatewayAPICRDs()
	if err != nil {
		return nil, err
	}
	env := &envtest.Environment{
		BinaryAssetsDirectory: assets,
		CRDInstallOptions: envtest.CRDInstallOptions{
			Paths: append([]string{
				filepath.Join(root, "config", "crd", "bases"),
				filepath.Join(root, "test", "crds"),
				filepath.Join(istio, "kubernetes", "customresourcedefinitions.gen.yaml"),
			}, gatewayAPI...),
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
