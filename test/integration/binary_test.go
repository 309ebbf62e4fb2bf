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

	ctx, cancel := context.WithCancel(context.Background())
	metrics := "127.0.0.1:" + strconv.Itoa(harness.FreePort(t))
	cmd := exec.CommandContext(ctx, bin, "--kubeconfig", kubeconfig, "--enable-webhooks=false",
		"--metrics-bind-address="+metrics, "--metrics-secure", "--health-probe-bind-address=0")
	// LOGGING=10 is Python's debug: unlike the default (info) it shows in the log.
	cmd.Env = append(os.Environ(), "APIOPERATORISTIO_COMPONENTGATEWAY=istio-system/public", "LOGGING=10", "COMPONENT_NAMESPACE="+ns)
	stderr := &harness.LockedBuffer{}
	cmd.Stderr = io.MultiWriter(harness.LogWriter(t), stderr)
	require.NoError(t, cmd.Start())
	// ProcessState is set only by Wait, so whether the process is still running is
	// told by a Wait that has not returned.
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() { cancel(); <-exited })

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
		t.Fatalf("the operator exited: %v", waitErr)
	default:
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
