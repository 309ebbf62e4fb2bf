package helm

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/oda-canvas/api-operator-istio/internal/app"
)

// renderedRateLimit parses the rendered operator container's --kube-api-* arguments with the
// binary's own flags.
func renderedRateLimit(t *testing.T, sets ...string) *app.Options {
	t.Helper()
	for _, obj := range render(t, sets...) {
		if obj.GetKind() != "Deployment" {
			continue
		}
		containers, _, _ := unstructured.NestedSlice(obj.Object, "spec", "template", "spec", "containers")
		var args []string
		for _, a := range containers[0].(map[string]any)["args"].([]any) {
			if s := a.(string); strings.HasPrefix(s, "--kube-api-") {
				args = append(args, s)
			}
		}
		require.Len(t, args, 2)
		return parseFlags(t, args...)
	}
	t.Fatal("no Deployment rendered")
	return nil
}

func parseFlags(t *testing.T, args ...string) *app.Options {
	t.Helper()
	o := &app.Options{}
	fs := flag.NewFlagSet("operator", flag.ContinueOnError)
	o.AddFlags(fs)
	require.NoError(t, fs.Parse(args))
	return o
}

func TestRateLimitDefaultsMatchTheBinary(t *testing.T) {
	chart := renderedRateLimit(t)
	binary := parseFlags(t)
	assert.Equal(t, binary.KubeAPIQPS, chart.KubeAPIQPS)
	assert.Equal(t, binary.KubeAPIBurst, chart.KubeAPIBurst)
	qps, _ := chart.RateLimit()
	assert.Equal(t, float32(-1), qps, "no client-side limit by default")

	set := renderedRateLimit(t, "kubeAPI.qps=50", "kubeAPI.burst=100")
	require.NoError(t, set.Validate())
	qps, burst := set.RateLimit()
	assert.Equal(t, []any{float32(50), 100}, []any{qps, burst})
}

func TestValuesSchemaRejectsBurstWithoutLimit(t *testing.T) {
	out, err := helm(t, "template", release, chartDir(t), "--set", "kubeAPI.burst=100")
	require.Error(t, err)
	assert.Contains(t, out, "values don't meet the specifications of the schema")
	assert.Contains(t, out, "kubeAPI")
}

// TestShutdownDelayFitsTheGracePeriod: the chart's --shutdown-delay is the binary's default,
// and the pod's grace period covers it and the graceful stop after it, so that the kubelet
// does not kill a replica that is still draining.
func TestShutdownDelayFitsTheGracePeriod(t *testing.T) {
	for _, obj := range render(t) {
		if obj.GetKind() != "Deployment" {
			continue
		}
		spec, _, _ := unstructured.NestedMap(obj.Object, "spec", "template", "spec")
		var args []string
		for _, a := range spec["containers"].([]any)[0].(map[string]any)["args"].([]any) {
			if s := a.(string); strings.HasPrefix(s, "--shutdown-delay=") || strings.HasPrefix(s, "--graceful-shutdown-timeout=") {
				args = append(args, s)
			}
		}
		chart, binary := parseFlags(t, args...), parseFlags(t)
		assert.Equal(t, binary.ShutdownDelay, chart.ShutdownDelay)
		grace := time.Duration(spec["terminationGracePeriodSeconds"].(int64)) * time.Second
		assert.Greater(t, grace, chart.ShutdownDelay+chart.GracefulShutdown, "the grace period covers the delay and the stop")
		return
	}
	t.Fatal("no Deployment rendered")
}

// TestLargeNumbersReachTheBinaryAsWritten: Helm reads a number of a values file as a float,
// which prints as 1e+06 from a million on; the binary's whole-number settings refused that
// at start and the pod crash-looped. What the schema lets through starts.
func TestLargeNumbersReachTheBinaryAsWritten(t *testing.T) {
	f := filepath.Join(t.TempDir(), "values.yaml")
	require.NoError(t, os.WriteFile(f, []byte(
		"streams: {connectTimeout: 1000000, idleTimeout: 2147483647}\nkubeAPI: {qps: 1000000, burst: 1000000}\n"), 0o600))
	c := container(t, renderDir(t, chartDir(t), "-f", f))
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			t.Setenv(e.Name, e.Value)
		}
	}
	o := parseFlags(t, c.Args...)
	require.NoError(t, o.Validate())
	assert.Equal(t, 1000000, o.KubeAPIBurst)

	require.NoError(t, os.WriteFile(f, []byte("streams: {idleTimeout: 2147483648}\n"), 0o600))
	out, err := helm(t, "template", release, chartDir(t), "-f", f)
	require.Error(t, err, "a timeout the binary cannot hold")
	assert.Contains(t, out, "streams")
}
