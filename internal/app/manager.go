package app

import (
	"cmp"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"os"

	"github.com/go-logr/logr"
	"github.com/go-logr/zapr"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	networkingv1alpha3 "istio.io/client-go/pkg/apis/networking/v1alpha3"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/discovery"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/certs"
	"github.com/oda-canvas/api-operator-istio/controllers/component"
	"github.com/oda-canvas/api-operator-istio/controllers/crdwatch"
	"github.com/oda-canvas/api-operator-istio/controllers/exposedapi"
	"github.com/oda-canvas/api-operator-istio/controllers/metrics"
	"github.com/oda-canvas/api-operator-istio/controllers/policies"
	"github.com/oda-canvas/api-operator-istio/controllers/statuswrite"
	"github.com/oda-canvas/api-operator-istio/internal/cachesync"
	"github.com/oda-canvas/api-operator-istio/internal/metacreate"
	"github.com/oda-canvas/api-operator-istio/internal/metricsauth"
	"github.com/oda-canvas/api-operator-istio/internal/routes"
	"github.com/oda-canvas/api-operator-istio/internal/statemetrics"
	"github.com/oda-canvas/api-operator-istio/webhooks"
)

// Leader election: its lease, and the events it records with the core events API.
// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;create;update
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch

// Scheme holds every kind the operator reads or writes.
func Scheme() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(apiextensionsv1.AddToScheme(s))
	utilruntime.Must(odav1.AddToScheme(s))
	utilruntime.Must(networkingv1.AddToScheme(s))
	utilruntime.Must(securityv1.AddToScheme(s))
	utilruntime.Must(networkingv1alpha3.AddToScheme(s))
	utilruntime.Must(monitoringv1.AddToScheme(s))
	utilruntime.Must(gatewayv1.Install(s))
	return s
}

// LeaderElectionID names the Lease the replicas elect their leader with, unless
// --leader-election-id names another (Options built in code, which predate the flag, keep it).
const LeaderElectionID = "api-operator-istio.oda.tmforum.org"

// NewLogger is zap through zapr at the configured level, to standard error.
func NewLogger(o *Options) (logr.Logger, error) {
	return NewLoggerTo(o, os.Stderr)
}

// NewLoggerTo is zap through zapr at the configured level, one line per event: JSON, or
// the canvas's Python operators' lines (--log-format=canvas).
func NewLoggerTo(o *Options, w io.Writer) (logr.Logger, error) {
	lvl, err := ParseLogLevel(o.LogLevel)
	if err != nil {
		return logr.Discard(), err
	}
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	if o.LogFormat == LogFormatCanvas {
		enc = newCanvasEncoder()
	}
	core := zapcore.NewCore(enc, zapcore.AddSync(w), lvl)
	return zapr.NewLogger(zap.New(core, zap.AddCaller())), nil
}

// Operator is a configured manager with the parts tests and tools reach into.
type Operator struct {
	Manager  ctrl.Manager
	Status   *statuswrite.Writer
	Gateways cache.Cache

	// ReadyChecks are the checks behind /readyz, by name.
	ReadyChecks map[string]healthz.Checker

	discovery discovery.DiscoveryInterface
	// servedRoutes list the route objects beyond VirtualServices that claim routes, for the
	// webhook's conflict check.
	servedRoutes []routes.Served
}

func (op *Operator) addReadyCheck(name string, c healthz.Checker) error {
	if op.ReadyChecks == nil {
		op.ReadyChecks = map[string]healthz.Checker{}
	}
	op.ReadyChecks[name] = c
	return op.Manager.AddReadyzCheck(name, c)
}

// New builds the operator's manager on cfg: caches, controllers, probes.
func New(cfg *rest.Config, o *Options) (*Operator, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	cfg = o.clientConfig(cfg)
	mopts := managerOptions(o)
	mopts.LeaderElectionConfig = o.leaderElectionConfig(cfg)
	var serving *certs.Provider
	if o.EnableWebhooks {
		var err error
		if serving, err = servingCerts(cfg, o); err != nil {
			return nil, err
		}
		mopts.WebhookServer = webhook.NewServer(webhook.Options{Host: o.WebhookHost, Port: o.WebhookPort, TLSOpts: serving.TLSOpts()})
	}
	if o.MetricsSecure {
		mopts.Metrics = secureMetrics(o.MetricsBindAddress, serving)
	}
	mgr, err := ctrl.NewManager(cfg, mopts)
	if err != nil {
		return nil, fmt.Errorf("creating the manager: %w", err)
	}
	gateways, err := gatewayCache(cfg, mgr, o)
	if err != nil {
		return nil, err
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	op := &Operator{Manager: mgr, Status: statuswrite.New(mgr.GetClient(), dc), Gateways: gateways, discovery: dc}
	if err := op.setupControllers(o); err != nil {
		return nil, err
	}
	if err := statemetrics.Add(mgr); err != nil {
		return nil, err
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return nil, err
	}
	synced := &cachesSynced{}
	if err := mgr.Add(synced); err != nil {
		return nil, err
	}
	if err := op.addReadyCheck("caches-synced", synced.Check); err != nil {
		return nil, err
	}
	if serving == nil {
		return op, nil
	}
	webhooks.Register(closingWhileDraining{mgr.GetWebhookServer()}, routeSettings(o), mgr.GetCache(), op.servedRoutes, o.served)
	if err := serving.AddToManager(mgr); err != nil {
		return nil, err
	}
	if err := op.addReadyCheck("webhook-certificate", serving.Checker); err != nil {
		return nil, err
	}
	return op, op.addReadyCheck("webhook-server", mgr.GetWebhookServer().StartedChecker())
}

// servingCerts are the webhook's certificates: mounted files when --webhook-cert-dir has
// them, else self-managed with the CA in a Secret.
func servingCerts(cfg *rest.Config, o *Options) (*certs.Provider, error) {
	direct, err := client.New(cfg, client.Options{Scheme: Scheme()})
	if err != nil {
		return nil, err
	}
	svc := o.WebhookServiceName + "." + o.WebhookNamespace
	return certs.New(cfg, direct, direct, certs.Options{
		CertDir:         o.WebhookCertDir,
		SecretNamespace: o.WebhookNamespace, SecretName: o.CASecretName,
		DNSNames:            append([]string{o.WebhookServiceName, svc, svc + ".svc", svc + ".svc.cluster.local"}, o.WebhookExtraDNSNames...),
		MutatingWebhookName: o.MutatingWebhookName, ValidatingWebhookName: o.ValidatingWebhookName,
	})
}

// secureMetrics serves metrics over HTTPS to callers the API server authenticates and
// authorizes for get on /metrics. With webhooks on, the certificate is theirs, so a scraper
// can verify it with the webhooks' CA (it names their Service, not the pod); without,
// controller-runtime's self-signed one.
func secureMetrics(addr string, serving *certs.Provider) metricsserver.Options {
	tlsOpts := []func(*tls.Config){certs.Hardened}
	if serving != nil {
		tlsOpts = serving.TLSOpts()
	}
	return metricsserver.Options{BindAddress: addr, SecureServing: true, TLSOpts: tlsOpts,
		FilterProvider: metricsauth.Filter}
}

func managerOptions(o *Options) ctrl.Options {
	opts := ctrl.Options{
		Scheme:                  Scheme(),
		MapperProvider:          newMapper,
		NewCache:                cachesync.New,
		Metrics:                 metricsserver.Options{BindAddress: o.MetricsBindAddress},
		HealthProbeBindAddress:  o.HealthProbeBindAddress,
		PprofBindAddress:        o.PprofBindAddress,
		LeaderElection:          o.LeaderElect,
		LeaderElectionID:        cmp.Or(o.LeaderElectionID, LeaderElectionID),
		LeaderElectionNamespace: o.LeaderElectionNamespace,
		// A replica that stops hands the lease over at once instead of after its expiry.
		LeaderElectionReleaseOnCancel: true,
		GracefulShutdownTimeout:       &o.GracefulShutdown,
		Cache: cache.Options{
			DefaultTransform: cache.TransformStripManagedFields(),
			ByObject: map[client.Object]cache.ByObject{
				&discoveryv1.EndpointSlice{}: {Transform: exposedapi.SlimEndpointSlice},
				&corev1.Pod{}:                {Transform: metrics.SlimPod},
				&corev1.Service{}:            {Transform: metrics.SlimService},
				// Only our own VirtualServices: a mesh can hold thousands of others.
				&networkingv1.VirtualService{}:  {Label: labels.SelectorFromSet(labels.Set{exposedapi.ManagedByLabel: exposedapi.ManagedByValue})},
				&networkingv1.DestinationRule{}: {Label: labels.SelectorFromSet(labels.Set{exposedapi.ManagedByLabel: exposedapi.ManagedByValue})},
			},
		},
	}
	served := o.served
	switch names := served.Names(); {
	case served.All():
	case names != nil:
		opts.Cache.DefaultNamespaces = map[string]cache.Config{}
		for _, ns := range names {
			opts.Cache.DefaultNamespaces[ns] = cache.Config{}
		}
	default:
		opts.Cache.NewInformer = served.NewInformer
	}
	return opts
}

// gatewayCache holds only the Istio ingress gateway Services, wherever they are: the
// operator may watch the component namespaces only, and the gateway lives in another.
func gatewayCache(cfg *rest.Config, mgr ctrl.Manager, o *Options) (cache.Cache, error) {
	opts := cache.Options{
		Scheme: mgr.GetScheme(),
		Mapper: mgr.GetRESTMapper(),
		ByObject: map[client.Object]cache.ByObject{&corev1.Service{}: {
			Label: labels.SelectorFromSet(labels.Set{exposedapi.IngressGatewayLabel: exposedapi.IngressGatewayValue}),
		}},
		DefaultTransform: cache.TransformStripManagedFields(),
	}
	if o.IngressGatewayNamespace != "" {
		opts.DefaultNamespaces = map[string]cache.Config{o.IngressGatewayNamespace: {}}
	}
	c, err := cachesync.New(cfg, opts)
	if err != nil {
		return nil, fmt.Errorf("creating the gateway cache: %w", err)
	}
	return c, mgr.Add(c)
}

func (op *Operator) setupControllers(o *Options) error {
	mgr := op.Manager
	r := &exposedapi.Reconciler{
		Client:         mgr.GetClient(),
		Creator:        metacreate.New(mgr.GetConfig(), mgr.GetHTTPClient(), mgr.GetScheme(), mgr.GetRESTMapper()),
		APIReader:      mgr.GetAPIReader(),
		Gateways:       op.Gateways,
		Routes:         routeSettings(o),
		PublicHostname: o.PublicHostname,
		Policies:       o.policySettings(),
		Status:         op.Status,
		Events:         mgr.GetEventRecorder("api-operator-istio"),
		RefusedRetry:   o.RefusedRetry,
	}
	pol := &policies.Extension{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Settings: r.Policies, Routes: r.Routes, Events: r.Events,
		MoveSettle: o.MoveSettle,
		Gateway: policies.Gateway{Namespace: o.IngressGatewayNamespace, Services: op.Gateways,
			Selector: map[string]string{exposedapi.IngressGatewayLabel: exposedapi.IngressGatewayValue}}}
	ctx := context.Background()
	m, err := newMetricsWiring(ctx, mgr, op.discovery, o)
	if err != nil {
		return err
	}
	r.Extensions = []exposedapi.Extension{m.scraper, pol}
	gw := newGatewayAPIWiring(mgr, op.discovery, o)
	gw.plug(r, pol)
	op.servedRoutes = r.Served
	kinds := newRouteKindsReturn(op.discovery, mgr.GetClient())
	if err := r.SetupWithManager(ctx, mgr, op.Gateways, controllerOptions(o), m.watches(r), pol.Watches, gw.watches, kinds.watches); err != nil {
		return fmt.Errorf("setting up the ExposedAPI controller: %w", err)
	}
	if err := m.setController(r.Controller); err != nil {
		return err
	}
	if err := gw.setController(r); err != nil {
		return err
	}
	comps, err := newComponentWiring(ctx, mgr, op.discovery,
		&component.Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Status: op.Status}, controllerOptions(o))
	if err != nil {
		return err
	}
	if err := comps.setup(ctx); err != nil {
		return err
	}
	crds := &crdwatch.Reconciler{Client: mgr.GetClient(), Discovery: op.discovery, OnChange: []func(context.Context, string){
		func(_ context.Context, group string) { op.Status.Forget(group) },
		m.onCRDChange,
		gw.onCRDChange,
		func(ctx context.Context, group string) { kinds.onCRDChange(ctx, group, r) },
		comps.onCRDChange,
	}}
	if err := crds.SetupWithManager(mgr, controllerOptions(o)); err != nil {
		return err
	}
	replicas := &crdwatch.Reconciler{Client: mgr.GetClient(), Discovery: op.discovery, Name: "crdwatch-replica", EveryReplica: true,
		OnChange: []func(context.Context, string){gw.onCRDArrival}}
	return replicas.SetupWithManager(mgr, controllerOptions(o))
}

func controllerOptions(o *Options) controller.Options {
	return controller.Options{MaxConcurrentReconciles: o.MaxConcurrentReconciles, SkipNameValidation: &o.SkipNameValidation,
		RateLimiter: retryLimiter()}
}

func routeSettings(o *Options) routes.Settings {
	return routes.Settings{Gateway: o.ComponentGateway, PublicHostname: o.PublicHostname, InternalSegments: o.InternalSegments,
		GatewayInAPINamespace: o.RouteAPI == HTTPRoute, HostNamesOnly: o.RouteAPI == HTTPRoute}
}

// Run starts the operator and blocks until ctx ends.
func Run(ctx context.Context, cfg *rest.Config, o *Options) error {
	op, err := New(cfg, o)
	if err != nil {
		return err
	}
	return op.Manager.Start(ctx)
}
