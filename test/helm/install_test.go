package helm

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zapcore"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/test/certmanager"
	"github.com/oda-canvas/api-operator-istio/test/harness"
)

const (
	fullname = release + "-api-operator-istio"
	// deployment is the operator's Deployment, named as the canvas's Python chart names its
	// own (deployment.operatorName's default), whatever the release.
	deployment    = "api-operator-istio"
	webhookSvc    = fullname + "-webhook"
	webhookDNS    = webhookSvc + "." + releaseNS + ".svc"
	certSecret    = fullname + "-webhook-tls"
	certificateCR = fullname + "-webhook"
)

var certificateGVK = schema.GroupVersionKind{Group: "cert-manager.io", Version: "v1", Kind: "Certificate"}

// TestHelmInstall installs the chart with `helm install` and runs the installed Deployment's
// pod (see pod), then uses the operator only through the API server: admission reaches
// the webhooks through the chart's Service, whose certificate the API server verifies with
// the injected CA bundle, and the controllers, bound by the chart's RBAC alone, program a
// route and its status. With cert-manager (running in the test), the served certificate is
// the one cert-manager issued, and after cert-manager renews it the new one is served with
// no restart, while ExposedAPIs keep being admitted though the pod's files follow 30 s late;
// without, the operator's self-managed certificate. Both install with secure metrics and
// the PodMonitor, and scrape as it would (assertMetricsSecured).
func TestHelmInstall(t *testing.T) {
	t.Run("cert-manager", func(t *testing.T) {
		env, admin := installEnv(t)
		certmanager.ReplaceBundles(t)
		runCertManager(t, env, admin)
		helmInstall(t, admin, secureMetrics...)
		ca := waitIssuedAndInjected(t, env)
		p := runDeploymentLagging(t, env, releaseNS, deployment, renewalLag)
		assert.Equal(t, secretData(t, env, certSecret)["tls.crt"], servedPEM(t, p, ca))
		assertMetricsSecured(t, env, p)
		useThroughAPIServer(t, env, "cm")
		renewAndServe(t, env, p)
		assertLog(t, p)
	})
	t.Run("self-managed", func(t *testing.T) {
		env, admin := installEnv(t)
		helmInstall(t, admin, append(secureMetrics, "certManager.enabled=false")...)
		p := runDeployment(t, env, releaseNS, deployment)
		ca := webhookCABundle(t, env)
		require.NotEmpty(t, ca, "the operator wrote its CA bundle")
		servedPEM(t, p, ca)
		assertMetricsSecured(t, env, p)
		useThroughAPIServer(t, env, "self")
		assertLog(t, p)
	})
}

func installEnv(t *testing.T) (*harness.Env, string) {
	certManagerCRDs := harness.ModuleDir(t, "github.com/cert-manager/cert-manager") + "/deploy/crds"
	env := harness.StartRoutingToEndpoints(t, harness.Generated, certManagerCRDs, harness.PodMonitorCRD(t))
	for _, ns := range []string{releaseNS, "components", "istio-system"} {
		env.Namespace(t, ns)
	}
	env.Gateway(t, "20.0.0.1", "")
	return env, env.Kubeconfig(t, "installer", "system:masters")
}

func runCertManager(t *testing.T, env *harness.Env, kubeconfig string) {
	ctx, cancel := context.WithCancel(context.Background())
	errs := make(chan error, 16)
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-errs:
			t.Errorf("cert-manager: %v", err)
		default:
		}
	})
	log := zap.New(zap.WriteTo(harness.LogWriter(t)), zap.Level(zapcore.InfoLevel))
	require.NoError(t, certmanager.Run(ctx, env.Config, kubeconfig, log, errs))
}

// helmInstall installs the chart as a user would, with one replica (one pod can be run
// here) on free ports.
func helmInstall(t *testing.T, kubeconfig string, sets ...string) {
	out, err := installRelease(t, kubeconfig, release, sets...)
	require.NoError(t, err, out)
	require.Contains(t, out, "STATUS: deployed")
}

// installRelease is helmInstall of a release of another name, which may fail.
func installRelease(t *testing.T, kubeconfig, name string, sets ...string) (string, error) {
	return helmRelease(t, "install", kubeconfig, name, sets...)
}

// helmRelease runs helm install or upgrade as helmInstall does.
func helmRelease(t *testing.T, verb, kubeconfig, name string, sets ...string) (string, error) {
	args := []string{verb, name, chartDir(t), "--namespace", releaseNS, "--kubeconfig", kubeconfig,
		"--set", "replicaCount=1", "--set", "watchNamespaces={components}",
		"--set", "webhook.port=" + freePortString(t), "--set", "metrics.port=" + freePortString(t),
		"--set", "healthProbe.port=" + freePortString(t)}
	return helm(t, append(args, setArgs(sets)...)...)
}

func freePortString(t *testing.T) string { return strconv.Itoa(harness.FreePort(t)) }

// waitIssuedAndInjected waits for cert-manager to issue the chart's Certificate and for
// its CA to be in both webhook configurations; it returns that CA.
func waitIssuedAndInjected(t *testing.T, env *harness.Env) []byte {
	harness.Eventually(t, "the Certificate Ready", func() error { return certificateReady(env) })
	ca := secretData(t, env, certSecret)["ca.crt"]
	require.NotEmpty(t, ca)
	waitCABundle(t, env, ca)
	return ca
}

// certificate is the chart's cert-manager Certificate.
func certificate(env *harness.Env) (*unstructured.Unstructured, error) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(certificateGVK)
	return u, env.Client.Get(context.Background(), client.ObjectKey{Namespace: releaseNS, Name: certificateCR}, u)
}

func certificateReady(env *harness.Env) error {
	u, err := certificate(env)
	if err != nil {
		return err
	}
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		if m := c.(map[string]any); m["type"] == "Ready" && m["status"] == "True" {
			return nil
		}
	}
	return fmt.Errorf("conditions %v", conds)
}

// waitCABundle waits until both webhook configurations trust ca (cainjector merges a new CA
// into the bundle since cert-manager v1.19, and replaced the bundle before).
func waitCABundle(t *testing.T, env *harness.Env, ca []byte) {
	harness.Eventually(t, "the CA injected into both webhook configurations", func() error {
		all, err := harness.CABundles(context.Background(), env.Client, fullname, fullname)
		if err != nil {
			return err
		}
		for _, b := range all {
			if !bytes.Contains(b, ca) {
				return fmt.Errorf("bundle %q", b)
			}
		}
		return nil
	})
}

// webhookCABundle is the bundle the API server trusts for the validating webhook.
func webhookCABundle(t *testing.T, env *harness.Env) []byte {
	all, err := harness.CABundles(context.Background(), env.Client, fullname, fullname)
	require.NoError(t, err)
	return all[len(all)-1]
}

func secretData(t *testing.T, env *harness.Env, name string) map[string][]byte {
	s := &corev1.Secret{}
	require.NoError(t, env.Client.Get(context.Background(), client.ObjectKey{Namespace: releaseNS, Name: name}, s))
	return s.Data
}

// servedPEM connects to the pod's webhook port as the API server does (the Service's DNS
// name, the CA bundle as the only root), offering HTTP/2, and returns the served
// certificate; the connection must verify and fall back to HTTP/1.1.
func servedPEM(t *testing.T, p *pod, ca []byte) []byte {
	cert, err := served(p, ca)
	require.NoError(t, err)
	return cert
}

func served(p *pod, ca []byte) ([]byte, error) { return servedOn(p, "webhook", webhookDNS, ca) }

// servedOn is the certificate served on the pod's port, verified for serverName with ca;
// HTTP/2 must be off.
func servedOn(p *pod, port, serverName string, ca []byte) ([]byte, error) {
	cfg, err := verifying(ca, serverName)
	if err != nil {
		return nil, err
	}
	cfg.NextProtos = []string{"h2", "http/1.1"}
	conn, err := tls.Dial("tcp", p.address(port), cfg)
	if err != nil {
		return nil, fmt.Errorf("the certificate served on %s does not verify for %s with the CA bundle: %w", port, serverName, err)
	}
	defer conn.Close()
	state := conn.ConnectionState()
	if state.NegotiatedProtocol != "http/1.1" {
		return nil, fmt.Errorf("negotiated %q on %s: HTTP/2 must be off (rapid reset)", state.NegotiatedProtocol, port)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: state.PeerCertificates[0].Raw}), nil
}

// verifying is a client's TLS configuration that trusts ca alone, for serverName.
func verifying(ca []byte, serverName string) (*tls.Config, error) {
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(ca) {
		return nil, fmt.Errorf("no PEM certificate in the CA bundle %q", ca)
	}
	return &tls.Config{RootCAs: roots, ServerName: serverName, MinVersion: tls.VersionTLS12}, nil
}

// useThroughAPIServer: the mutating webhook normalises the path, the validating webhook
// refuses a bad port with the field named, and the controller programs the route and its
// status, all through the API server.
func useThroughAPIServer(t *testing.T, env *harness.Env, name string) {
	ctx := context.Background()
	env.Implementation(t, "components", "impl-"+name, 8080, true)
	api := harness.API("components", name, "/"+name+"//api/", "impl-"+name, 8080)
	harness.Eventually(t, "the ExposedAPI admitted", func() error { return env.Client.Create(ctx, api.DeepCopy()) })
	got := &odav1.ExposedAPI{}
	require.NoError(t, env.Client.Get(ctx, client.ObjectKeyFromObject(api), got))
	assert.Equal(t, "/"+name+"/api", got.Spec.Path, "normalised by the mutating webhook")

	bad := harness.API("components", name+"-bad", "/"+name+"-bad", "impl-"+name, 70000)
	err := env.Client.Create(ctx, bad)
	require.True(t, apierrors.IsInvalid(err), "refused as invalid: %v", err)
	assert.Contains(t, err.Error(), "spec.port")

	env.WaitAPI(t, got, "Ready with its URL", func(a *odav1.ExposedAPI) error {
		s := a.Status
		if s.Implementation == nil || !s.Implementation.Ready || s.APIStatus == nil || !strings.HasSuffix(s.APIStatus.URL, "/"+name+"/api") {
			return fmt.Errorf("status %+v", s)
		}
		return nil
	})
	require.NoError(t, env.Client.Get(ctx, client.ObjectKeyFromObject(api), &networkingv1.VirtualService{}))
}

// renewalLag is how late the pod's files follow a renewal here, as a kubelet's may.
const renewalLag = 30 * time.Second

// renewAndServe asks cert-manager to renew the certificate, as `cmctl renew` does, and
// creates an ExposedAPI every second, each admitted through both webhooks, until the pod
// serves the new certificate (its files change under it renewalLag late, as a mounted
// Secret's do) and the API server, with the injected CA bundle, still reaches the webhooks.
func renewAndServe(t *testing.T, env *harness.Env, p *pod) {
	old := secretData(t, env, certSecret)["tls.crt"]
	u, err := certificate(env)
	require.NoError(t, err)
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	conds = append(conds, map[string]any{"type": "Issuing", "status": "True", "reason": "ManuallyTriggered",
		"message": "renewal asked by the test", "lastTransitionTime": time.Now().UTC().Format(time.RFC3339)})
	require.NoError(t, unstructured.SetNestedSlice(u.Object, conds, "status", "conditions"))
	require.NoError(t, env.Client.Status().Update(context.Background(), u))

	asked, deadline := time.Now(), time.Now().Add(renewalLag+harness.Wait)
	for n := 0; ; n++ {
		api := harness.API("components", fmt.Sprintf("renewal-%d", n), fmt.Sprintf("/renewal-%d", n), "impl-cm", 8080)
		require.NoError(t, env.Client.Create(context.Background(), api), "created %s after the renewal was asked", time.Since(asked))
		err := servingRenewed(t, env, p, old)
		if err == nil {
			break
		}
		require.True(t, time.Now().Before(deadline), "the renewed certificate served: %v", err)
		time.Sleep(time.Second)
	}
	useThroughAPIServer(t, env, "renewed")
}

// servingRenewed: the Secret holds a certificate other than old, the pod serves it, and it
// verifies with the bundle the API server trusts.
func servingRenewed(t *testing.T, env *harness.Env, p *pod, old []byte) error {
	renewed := secretData(t, env, certSecret)["tls.crt"]
	if string(renewed) == string(old) {
		return fmt.Errorf("not renewed yet")
	}
	got, err := served(p, webhookCABundle(t, env))
	if err == nil && string(got) != string(renewed) {
		err = fmt.Errorf("still serving the old certificate")
	}
	return err
}

// assertLog: every line the operator wrote is a structured entry (R6.3), it was never
// refused by RBAC, and it took the Go memory limit from the container's.
func assertLog(t *testing.T, p *pod) {
	log := p.logs.String()
	for _, line := range strings.Split(strings.TrimSpace(log), "\n") {
		assert.True(t, json.Valid([]byte(line)), "not a structured log entry: %s", line)
	}
	assert.NotContains(t, log, "forbidden", "the chart's RBAC refused the operator something")
	limits := p.container().Resources.Limits
	limit := limits.Memory().Value()
	require.NotZero(t, limit)
	assert.Contains(t, log, fmt.Sprintf(`"goMemoryLimit":%d`, limit/10*9))
}
