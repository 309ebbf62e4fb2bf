package integration

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/controller-runtime/pkg/client"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// TestBinary builds the binary and runs it as a user would, against a kubeconfig, with
// settings from the environment (each one's effect is checked), its metrics secured with
// no webhooks (so no certificate of theirs): see secureMetricsServed.
func TestBinary(t *testing.T) {
	env := harness.Start(t, harness.Generated)
	ns := env.Namespace(t, "components")
	env.Gateway(t, "20.0.0.1", "")
	env.Implementation(t, ns, "impl", 8080, true)
	other := env.Namespace(t, "elsewhere")
	env.Implementation(t, other, "impl", 8080, true)
	// Granted first: the API server's RBAC authorizer follows its watch, a moment late.
	reader := env.ServiceAccount(t, "metrics-reader", true)
	bin := harness.BuildOperator(t)
	kubeconfig := env.Kubeconfig(t, "operator", "system:masters")

	metrics := "127.0.0.1:" + strconv.Itoa(harness.FreePort(t))
	// LOGGING=10 is Python's debug: unlike the default (info) it shows in the log.
	stderr, exited, waitErr := runBinary(t, bin, []string{"--kubeconfig", kubeconfig, "--enable-webhooks=false",
		"--metrics-bind-address=" + metrics, "--metrics-secure", "--health-probe-bind-address=0"},
		"APIOPERATORISTIO_COMPONENTGATEWAY=istio-system/public", "LOGGING=10", "COMPONENT_NAMESPACE="+ns)

	// Created first, so that by the time the served API is ready it would have been
	// reconciled too, were the operator not confined to COMPONENT_NAMESPACE.
	outside := harness.API(other, "outside", "/outside", "impl", 8080)
	require.NoError(t, env.Client.Create(context.Background(), outside))
	api := harness.API(ns, "from-binary", "/binary", "impl", 8080)
	require.NoError(t, env.Client.Create(context.Background(), api))
	virtualService(t, env, api, routeIs("*", "istio-system/public", "/binary", "impl", 8080))
	waitReady(t, env, api, "https://20.0.0.1/binary")
	secureMetricsServed(t, env, "https://"+metrics+"/metrics", reader)

	assert.Never(t, func() bool {
		err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(outside), &networkingv1VirtualService{})
		return !isNotFound(err)
	}, 2*time.Second, harness.Tick, "a VirtualService for an API outside COMPONENT_NAMESPACE")
	got := &odav1.ExposedAPI{}
	require.NoError(t, env.Client.Get(context.Background(), client.ObjectKeyFromObject(outside), got))
	assert.Empty(t, got.Status.Conditions, "status written on an API outside COMPONENT_NAMESPACE")
	assert.True(t, hasEntry(stderr.String(), "debug", "status written"), "no debug entry with LOGGING=10")

	select {
	case <-exited:
		t.Fatalf("the operator exited: %v", *waitErr)
	default:
	}
}

// runBinary starts the operator's binary until the test ends; exited is closed, and
// waitErr set, when it stops before that.
func runBinary(t *testing.T, bin string, args []string, envs ...string) (stderr *harness.LockedBuffer, exited chan struct{}, waitErr *error) {
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), envs...)
	stderr = &harness.LockedBuffer{}
	cmd.Stderr = io.MultiWriter(harness.LogWriter(t), stderr)
	require.NoError(t, cmd.Start())
	// ProcessState is set only by Wait, so whether the process is still running is
	// told by a Wait that has not returned.
	exited, waitErr = make(chan struct{}), new(error)
	go func() { *waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() { cancel(); <-exited })
	return stderr, exited, waitErr
}

// canvasLine is the line pattern of the canvas's log viewer, `kubectl canvaslogs`
// (showlogtree.py's LINE_RX, tmforum-oda/oda-canvas source/utilities/canvas-log-viewer).
var canvasLine = regexp.MustCompile(`^\[(?P<time>[-0-9 :,.]+)\]\s+(?P<logger>[^ ]+)\s+\[(?P<level>[A-Z]+)\s*\]\s+` +
	`(\[(?P<component>[^|]*)\|(?P<resource>[^|]*)\|(?P<handler>[^|]*)\|(?P<function>[^\]]*)\]\s+(?P<subject>[^:]+):\s+|` +
	`\[(?P<resourceonly>[^\]|]*)\]\s+|)(?P<message>.*)$`)

// TestBinaryLogsForTheCanvasViewer: with --log-format=canvas (the chart's logFormat) every
// line the binary writes is one the canvas's log viewer reads, and an API's reconcile is
// filed under its component and resource, as the Python operator's are.
func TestBinaryLogsForTheCanvasViewer(t *testing.T) {
	env := harness.Start(t, harness.Generated)
	ns := env.Namespace(t, "components")
	env.Gateway(t, "20.0.0.1", "")
	env.Implementation(t, ns, "impl", 8080, true)
	bin := harness.BuildOperator(t)
	kubeconfig := env.Kubeconfig(t, "operator", "system:masters")
	stderr, _, _ := runBinary(t, bin, []string{"--kubeconfig", kubeconfig, "--enable-webhooks=false",
		"--metrics-bind-address=0", "--health-probe-bind-address=0"},
		"APIOPERATORISTIO_COMPONENTGATEWAY=istio-system/public", "LOGGING=10", "COMPONENT_NAMESPACE="+ns, "APIOPERATORISTIO_LOGFORMAT=canvas")

	api := harness.API(ns, "viewed", "/viewed", "impl", 8080)
	require.NoError(t, env.Client.Create(context.Background(), api))
	waitReady(t, env, api, "https://20.0.0.1/viewed")
	want := []string{api.Labels[odav1.ComponentNameLabel], "exposedapi/viewed", "exposedapi", "status written"}
	require.Eventually(t, func() bool {
		for _, line := range strings.Split(stderr.String(), "\n") {
			if m := canvasLine.FindStringSubmatch(line); m != nil && slices.Equal(m[5:8], want[:3]) && m[9] == want[3] {
				return true
			}
		}
		return false
	}, 10*time.Second, harness.Tick, "no line of the API's status write under [component|exposedapi/viewed|exposedapi|]")
	for _, line := range strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n") {
		assert.Regexp(t, canvasLine, line, "a line the canvas's log viewer does not read")
		assert.False(t, strings.HasPrefix(line, "{"), "a JSON line: %s", line)
	}
}

// hasEntry is whether a JSON log line of level has message msg.
func hasEntry(log, level, msg string) bool {
	for _, line := range strings.Split(log, "\n") {
		var entry struct{ Level, Msg string }
		if json.Unmarshal([]byte(line), &entry) == nil && entry.Level == level && entry.Msg == msg {
			return true
		}
	}
	return false
}

// secureMetricsServed: over TLS with HTTP/1.1 only, a self-signed certificate, 401 without
// a token and 200 with one of reader's.
func secureMetricsServed(t *testing.T, env *harness.Env, url string, reader client.ObjectKey) {
	//nolint:gosec // the certificate is self-signed: what is checked is that TLS is spoken
	scraper := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2", "http/1.1"}}}}
	resp, _ := harness.Scrape(t, scraper, url, "")
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "without a token")
	assert.Equal(t, "HTTP/1.1", resp.Proto, "HTTP/2 off (rapid reset)")
	require.NotNil(t, resp.TLS)
	assert.NoError(t, resp.TLS.PeerCertificates[0].VerifyHostname("localhost"), "controller-runtime's self-signed certificate")
	resp, _ = harness.Scrape(t, scraper, url, env.Token(t, reader.Namespace, reader.Name))
	assert.Equal(t, http.StatusOK, resp.StatusCode, "with the token of an account granted get on /metrics")
}

// TestBinaryStartErrors: a setting refused before the logger exists is one plain line and
// exit status 2, as the flag package's own; a failure after it, a JSON entry and status 1.
func TestBinaryStartErrors(t *testing.T) {
	bin := harness.BuildOperator(t)
	out, err := exec.Command(bin, "--log-level=loud").CombinedOutput()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit)
	assert.Equal(t, 2, exit.ExitCode())
	assert.Regexp(t, `^api-operator-istio: .*loud.*\n$`, string(out))

	cmd := exec.Command(bin, "--kubeconfig", filepath.Join(t.TempDir(), "absent"))
	cmd.Env = append(os.Environ(), "LOGGING=20")
	out, err = cmd.Output()
	require.ErrorAs(t, err, &exit)
	assert.Equal(t, 1, exit.ExitCode())
	var entry struct{ Level, Msg, Error string }
	require.NoError(t, json.Unmarshal(exit.Stderr, &entry), "one JSON entry: %s", exit.Stderr)
	assert.Equal(t, "error", entry.Level)
	assert.Equal(t, "stopped", entry.Msg)
	assert.Contains(t, entry.Error, "loading the kubeconfig")
	assert.Empty(t, out)
}
