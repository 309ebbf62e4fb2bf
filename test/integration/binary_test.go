package integration

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// TestBinary builds the binary and runs it as a user would, against a kubeconfig, with
// settings from the environment.
func TestBinary(t *testing.T) {
	env := harness.Start(t, harness.Generated)
	ns := env.Namespace(t, "components")
	env.Gateway(t, "20.0.0.1", "")
	env.Implementation(t, ns, "impl", 8080, true)
	dir := t.TempDir()
	bin := filepath.Join(dir, "api-operator-istio")
	build := exec.Command("go", "build", "-o", bin, "./cmd/api-operator-istio")
	build.Dir = harness.RepoRoot(t)
	out, err := build.CombinedOutput()
	require.NoError(t, err, string(out))

	user, err := env.AddUser(envtest.User{Name: "operator", Groups: []string{"system:masters"}})
	require.NoError(t, err)
	raw, err := user.KubeConfig()
	require.NoError(t, err)
	kubeconfig := filepath.Join(dir, "kubeconfig")
	require.NoError(t, os.WriteFile(kubeconfig, raw, 0o600))

	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "--kubeconfig", kubeconfig, "--enable-webhooks=false",
		"--metrics-bind-address=0", "--health-probe-bind-address=0")
	cmd.Env = append(os.Environ(), "APIOPERATORISTIO_COMPONENTGATEWAY=istio-system/public", "LOGGING=20", "COMPONENT_NAMESPACE="+ns)
	cmd.Stderr = &testLog{t}
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })

	api := harness.API(ns, "from-binary", "/binary", "impl", 8080)
	require.NoError(t, env.Client.Create(context.Background(), api))
	virtualService(t, env, api, routeIs("*", "istio-system/public", "/binary", "impl", 8080))
	waitReady(t, env, api, "https://20.0.0.1/binary")
	require.Nil(t, cmd.ProcessState, "still running")
}

type testLog struct{ t *testing.T }

func (l *testLog) Write(p []byte) (int, error) {
	defer func() { _ = recover() }()
	l.t.Log(string(p))
	return len(p), nil
}
