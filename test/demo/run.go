package demo

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/oda-canvas/api-operator-istio/internal/app"
	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// Options of a demo run.
type Options struct {
	// Root is the repository; Assets holds kube-apiserver, etcd and kubectl.
	Root, Assets string
	// Exit stops everything once the table is printed (tests, CI); otherwise the demo
	// runs until ctx ends (Ctrl-C).
	Exit bool
	// Log receives the operator's logs (discarded when nil).
	Log io.Writer
	// RouteAPI is the operator's --route-api; empty means VirtualService.
	RouteAPI string
}

// Result is what the demo showed.
type Result struct {
	APIs       []APIRow
	Components []ComponentRow
	Refusals   []Refusal
	Kubeconfig string
}

// Run starts the control plane and the operator, applies the samples and prints the table.
func Run(ctx context.Context, o Options, out io.Writer) (*Result, error) {
	dir, err := os.MkdirTemp("", "api-operator-istio-demo-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	say(out, "starting a local control plane (kube-apiserver and etcd from %s)", o.Assets)
	env, err := controlPlane(o.Root, o.Assets)
	if err != nil {
		return nil, err
	}
	defer func() { _ = env.Stop() }()
	c, err := client.New(env.Config, client.Options{Scheme: app.Scheme()})
	if err != nil {
		return nil, err
	}
	if err := harness.ClearCABundles(ctx, c); err != nil {
		return nil, err
	}
	stop, err := startOperator(ctx, env.Config, env.WebhookInstallOptions.LocalServingPort, o.Log, o.RouteAPI)
	if err != nil {
		return nil, err
	}
	defer stop()
	if o.RouteAPI == app.HTTPRoute {
		defer acceptRoutes(ctx, c)()
	}
	say(out, "waiting for the webhooks (the operator makes its certificates)")
	if err := harness.WaitForWebhook(ctx, c, "default", 60*time.Second); err != nil {
		return nil, err
	}
	res, err := show(ctx, c, o, out)
	if err != nil {
		return nil, err
	}
	if res.Kubeconfig, err = writeKubeconfig(env, dir); err != nil {
		return nil, err
	}
	if !o.Exit {
		// Only while the control plane runs: on exit it and that kubeconfig are gone.
		printNext(out, res.Kubeconfig, filepath.Join(o.Root, "bin", "k8s", "kubectl"), o.Root)
		say(out, "running until Ctrl-C")
		<-ctx.Done()
		say(out, "stopping the operator and the control plane, removing %s", dir)
	}
	return res, nil
}

// show applies the samples, waits for them and prints the table and the refusals.
func show(ctx context.Context, c client.Client, o Options, out io.Writer) (*Result, error) {
	samples := filepath.Join(o.Root, "config", "samples")
	say(out, "applying config/samples")
	prepare := func(*unstructured.Unstructured) {}
	if o.RouteAPI == app.HTTPRoute {
		prepare = func(api *unstructured.Unstructured) {
			if _, found, _ := unstructured.NestedMap(api.Object, "spec", "rateLimit"); found {
				unstructured.RemoveNestedField(api.Object, "spec", "rateLimit")
				say(out, "HTTPRoute mode: %s's rateLimit left out: a local rate limit cannot be scoped to an HTTPRoute (it would be reported not in force, and the API not Ready)", api.GetName())
			}
		}
	}
	if err := applySamples(ctx, c, samples, prepare); err != nil {
		return nil, err
	}
	if o.RouteAPI == app.HTTPRoute {
		say(out, "HTTPRoute mode: making Gateway components/component-gateway at %s; no gateway controller runs here, so the demo accepts each HTTPRoute as one would", IngressIP)
		if err := componentGateway(ctx, c); err != nil {
			return nil, err
		}
	}
	res := &Result{}
	var err error
	if res.APIs, err = waitReady(ctx, c, 60*time.Second); err != nil {
		return nil, err
	}
	if res.Components, err = waitComponents(ctx, c, res.APIs, 30*time.Second); err != nil {
		return nil, err
	}
	printTable(out, res)
	say(out, "applying config/samples/invalid: each must be refused")
	if res.Refusals, err = applyInvalid(ctx, c, samples); err != nil {
		return nil, err
	}
	printRefusals(out, res.Refusals)
	return res, nil
}

// startOperator runs the operator in this process with self-managed webhook certificates.
func startOperator(ctx context.Context, cfg *rest.Config, port int, logs io.Writer, routeAPI string) (func(), error) {
	o := &app.Options{
		ComponentGateway: "component-gateway", OpenMetricsImplementation: app.ServiceMonitor, LogLevel: "info",
		MetricsBindAddress: "0", HealthProbeBindAddress: "0", KubeAPIQPS: 50, KubeAPIBurst: 100,
		MaxConcurrentReconciles: 4, EnableWebhooks: true, WebhookHost: "localhost", WebhookPort: port,
		WebhookServiceName: "api-operator-istio-webhook", WebhookNamespace: "default", CASecretName: "api-operator-istio-ca",
		MutatingWebhookName: harness.MutatingWebhookName, ValidatingWebhookName: harness.ValidatingWebhookName, WebhookExtraDNSNames: []string{"localhost"},
		GracefulShutdown: 5 * time.Second, SkipNameValidation: true, RouteAPI: routeAPI,
	}
	// Token checks and rate limits on the gateway, for the full sample's policies.
	o.JWTIssuer, o.RateLimitMode = "https://idp.example.com/realms/canvas", "local"
	log := logr.Discard()
	if logs != nil {
		var err error
		if log, err = app.NewLoggerTo(o, logs); err != nil {
			return nil, err
		}
	}
	ctrl.SetLogger(log)
	klog.SetLogger(log) // cert-manager's certificate sources log through klog
	app.RedirectStdLog(log)
	op, err := app.New(cfg, o)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- op.Manager.Start(ctx) }()
	return func() { cancel(); <-done }, nil
}

func say(out io.Writer, format string, args ...any) {
	fmt.Fprintf(out, "==> "+format+"\n", args...)
}
