package integration

import (
	"context"
	"os"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// TestBinary builds the binary and runs it as a user would, against a kubeconfig, with
// settings from the environment.
func TestBinary(t *testing.T) {
	env := harness.Start(t, harness.Generated)
	ns := env.Namespace(t, "components")
	env.Gateway(t, "20.0.0.1", "")
	env.Implementation(t, ns, "impl", 8080, true)
	bin := harness.BuildOperator(t)
	kubeconfig := env.Kubeconfig(t, "operator", "system:masters")

	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "--kubeconfig", kubeconfig, "--enable-webhooks=false",
		"--metrics-bind-address=0", "--health-probe-bind-address=0")
	cmd.Env = append(os.Environ(), "APIOPERATORISTIO_COMPONENTGATEWAY=istio-system/public", "LOGGING=20", "COMPONENT_NAMESPACE="+ns)
	cmd.Stderr = harness.LogWriter(t)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })

	api := harness.API(ns, "from-binary", "/binary", "impl", 8080)
	require.NoError(t, env.Client.Create(context.Background(), api))
	virtualService(t, env, api, routeIs("*", "istio-system/public", "/binary", "impl", 8080))
	waitReady(t, env, api, "https://20.0.0.1/binary")
	require.Nil(t, cmd.ProcessState, "still running")
}
