// Package app holds the operator's settings and wires its manager: the one place main and
// the tools that embed the operator (tests, demo) start it from.
package app

import (
	"flag"
	"fmt"
	"math"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap/zapcore"
	k8svalidation "k8s.io/apimachinery/pkg/util/validation"

	"github.com/oda-canvas/api-operator-istio/api/v1/validation"
	"github.com/oda-canvas/api-operator-istio/internal/namespaces"
)

// OpenMetrics implementation patterns (OPENMETRICS_IMPLEMENTATION).
const (
	ServiceMonitor       = "ServiceMonitor"
	PrometheusAnnotation = "PrometheusAnnotation"
	DataDogAnnotation    = "DataDogAnnotation"
)

// Patterns lists the accepted OpenMetrics implementation patterns.
var Patterns = []string{ServiceMonitor, PrometheusAnnotation, DataDogAnnotation}

// Route APIs (APIOPERATORISTIO_ROUTEAPI): the kind of route each ExposedAPI gets.
const (
	VirtualService = "VirtualService"
	HTTPRoute      = "HTTPRoute"
)

// RouteAPIs lists the accepted route APIs.
var RouteAPIs = []string{VirtualService, HTTPRoute}

// Options are the operator's settings. Each has a flag; the ODA Canvas environment
// variables give the defaults, so the operator is a drop-in for the Python one.
type Options struct {
	Namespaces                []string
	ComponentGateway          string
	PublicHostname            string
	OpenMetricsImplementation string
	RouteAPI                  string
	// InternalSegments are the segments whose APIs are routed inside the mesh only.
	InternalSegments        []string
	IngressGatewayNamespace string
	LogLevel                string
	LogFormat               string

	Kubeconfig              string
	MetricsBindAddress      string
	MetricsSecure           bool
	HealthProbeBindAddress  string
	PprofBindAddress        string
	LeaderElect             bool
	LeaderElectionID        string
	LeaderElectionNamespace string
	KubeAPIQPS              float64
	KubeAPIBurst            int
	MaxConcurrentReconciles int

	EnableWebhooks        bool
	WebhookPort           int
	WebhookHost           string
	WebhookCertDir        string
	WebhookServiceName    string
	WebhookNamespace      string
	MutatingWebhookName   string
	ValidatingWebhookName string
	CASecretName          string
	// WebhookExtraDNSNames are added to the self-managed certificate (local runs; not a flag).
	WebhookExtraDNSNames []string

	GracefulShutdown time.Duration
	// ShutdownDelay is how long the webhooks keep serving after SIGTERM.
	ShutdownDelay time.Duration

	PolicyOptions

	// SkipNameValidation lets several managers run in one process (tests); not a flag.
	SkipNameValidation bool
	// RefusedRetry is how long a route the API server refused, or an API held up by another
	// owner's child, waits to be tried again; 0: a minute. Tests shorten it; not a flag.
	RefusedRetry time.Duration
	// MoveSettle is how long the token checks of a route that moved cover both sides of the
	// move; 0: 30 s. Tests shorten it; not a flag.
	MoveSettle time.Duration

	// served is Namespaces read once, by Validate.
	served namespaces.Selector
}

// validatePublicHostname: the name is in every URL and is the host every route and token
// check matches, so one that no request can carry (a port, a scheme, a path) would leave
// every API unreachable, and a trailing dot or upper case would be refused by the route
// kinds or miss the checks. It is kept lower case without the dot.
func (o *Options) validatePublicHostname() error {
	if o.PublicHostname == "" {
		return nil
	}
	h := strings.TrimSuffix(strings.ToLower(o.PublicHostname), ".")
	if a, err := netip.ParseAddr(h); err == nil && a.Is4() {
		o.PublicHostname = h
		return nil
	}
	labels := strings.Split(h, ".")
	if len(k8svalidation.IsDNS1123Subdomain(h)) > 0 || strings.Trim(labels[len(labels)-1], "0123456789") == "" ||
		slices.ContainsFunc(labels, func(l string) bool { return len(l) > 63 }) {
		return fmt.Errorf("invalid --public-hostname (env APIOPERATORISTIO_PUBLICHOSTNAME) %q: must be a DNS name like api.example.com or an IPv4 address, without a scheme, port or path", o.PublicHostname)
	}
	o.PublicHostname = h
	return nil
}

// listFlag sets *dst from a comma-separated flag: the first time it is given it replaces
// the environment's value, and each time after that it adds to it, as kopf's -n does.
func listFlag(dst *[]string) func(string) error {
	given := false
	return func(s string) error {
		if !given {
			*dst, given = nil, true
		}
		*dst = append(*dst, splitList(s)...)
		return nil
	}
}

// envOr is the environment's value of key, or def when it is unset or empty.
func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// AddFlags registers the flags on fs, with defaults from the environment.
func (o *Options) AddFlags(fs *flag.FlagSet) {
	fs.Func("namespaces", "comma-separated namespaces to serve, each a name or a kopf pattern (glob with *, ? or [...]; !glob for every namespace but those); given more than once, as kopf's -n, they add up; empty serves all (env COMPONENT_NAMESPACE)", listFlag(&o.Namespaces))
	o.Namespaces = splitList(os.Getenv("COMPONENT_NAMESPACE"))
	fs.StringVar(&o.ComponentGateway, "component-gateway", envOr("APIOPERATORISTIO_COMPONENTGATEWAY", "component-gateway"), "Gateway the routes attach to: Istio's for VirtualServices, the Gateway API's for HTTPRoutes; namespace/name, or a name in each API's namespace (env APIOPERATORISTIO_COMPONENTGATEWAY)")
	fs.StringVar(&o.PublicHostname, "public-hostname", os.Getenv("APIOPERATORISTIO_PUBLICHOSTNAME"), "public host name or IPv4 that replaces the ingress address (env APIOPERATORISTIO_PUBLICHOSTNAME)")
	fs.Func("internal-segments", "comma-separated segments ("+strings.Join(validation.Segments, ", ")+") whose APIs are routed inside the mesh only, at <implementation>.<namespace>.svc.cluster.local; empty publishes every API on the component gateway (env APIOPERATORISTIO_INTERNALSEGMENTS)", listFlag(&o.InternalSegments))
	o.InternalSegments = splitList(os.Getenv("APIOPERATORISTIO_INTERNALSEGMENTS"))
	fs.StringVar(&o.OpenMetricsImplementation, "openmetrics-implementation", envOr("OPENMETRICS_IMPLEMENTATION", ServiceMonitor), "how metrics APIs are scraped: "+strings.Join(Patterns, ", ")+" (env OPENMETRICS_IMPLEMENTATION)")
	fs.StringVar(&o.RouteAPI, "route-api", envOr("APIOPERATORISTIO_ROUTEAPI", VirtualService), "the route each API gets: "+strings.Join(RouteAPIs, " (Istio) or ")+" (Gateway API) (env APIOPERATORISTIO_ROUTEAPI)")
	fs.StringVar(&o.IngressGatewayNamespace, "ingress-gateway-namespace", "", "namespace of the istio=ingressgateway Service; empty looks in all")
	fs.StringVar(&o.LogLevel, "log-level", envOr("LOGGING", "info"), "debug, info, warn, error, or the Python levels 10, 20, 30, 40 (env LOGGING)")
	fs.StringVar(&o.LogFormat, "log-format", envOr("APIOPERATORISTIO_LOGFORMAT", LogFormatJSON), "json (one object per line), or canvas: the lines of the canvas's Python operators, which kubectl canvaslogs apiistio shows as a tree (env APIOPERATORISTIO_LOGFORMAT)")
	// controller-runtime registers --kubeconfig on the process's flag set and reads it in
	// ctrl.GetConfig; only a flag set without it gets ours.
	if fs.Lookup("kubeconfig") == nil {
		fs.StringVar(&o.Kubeconfig, "kubeconfig", "", "path to a kubeconfig; default in-cluster or $KUBECONFIG")
	}
	fs.StringVar(&o.MetricsBindAddress, "metrics-bind-address", ":8080", "address of the Prometheus metrics endpoint; 0 disables it")
	fs.BoolVar(&o.MetricsSecure, "metrics-secure", false, "serve metrics over HTTPS, only to callers the API server authenticates (a bearer token, by TokenReview) and authorizes for get on /metrics (by SubjectAccessReview); the certificate is the webhooks' when they are on, else self-signed")
	fs.StringVar(&o.HealthProbeBindAddress, "health-probe-bind-address", ":8081", "address of /healthz and /readyz")
	fs.StringVar(&o.PprofBindAddress, "pprof-bind-address", "", "address of the Go profiler (/debug/pprof); empty disables it")
	fs.BoolVar(&o.LeaderElect, "leader-elect", false, "elect one active controller among the replicas (all replicas serve webhooks)")
	fs.StringVar(&o.LeaderElectionID, "leader-election-id", LeaderElectionID, "name of the leader election Lease; each install in one namespace needs its own")
	fs.StringVar(&o.LeaderElectionNamespace, "leader-election-namespace", "", "namespace of the leader election lease; default the pod's")
	fs.Float64Var(&o.KubeAPIQPS, "kube-api-qps", 0, "client-side limit of requests per second to the API server; 0 or negative: no client-side limit (API Priority and Fairness decides)")
	fs.IntVar(&o.KubeAPIBurst, "kube-api-burst", 0, "burst above --kube-api-qps; 0: twice the QPS; only with a positive --kube-api-qps")
	fs.IntVar(&o.MaxConcurrentReconciles, "max-concurrent-reconciles", 16, "ExposedAPIs reconciled at once (the work is waiting on the API server, not CPU)")
	fs.BoolVar(&o.EnableWebhooks, "enable-webhooks", true, "serve the defaulting and validating admission webhooks")
	fs.IntVar(&o.WebhookPort, "webhook-port", 9443, "port of the webhook server")
	fs.StringVar(&o.WebhookHost, "webhook-host", "", "address the webhook server listens on; empty means all")
	fs.StringVar(&o.WebhookCertDir, "webhook-cert-dir", "", "directory with tls.crt and tls.key (reloaded on change); empty or without them, certificates are self-managed")
	fs.StringVar(&o.WebhookServiceName, "webhook-service-name", "api-operator-istio-webhook", "Service in front of the webhooks (names of the self-managed certificate)")
	fs.StringVar(&o.WebhookNamespace, "webhook-namespace", envOr("POD_NAMESPACE", "default"), "namespace of the webhook Service and the self-managed CA Secret (env POD_NAMESPACE)")
	fs.StringVar(&o.MutatingWebhookName, "mutating-webhook-name", "api-operator-istio", "MutatingWebhookConfiguration whose CA bundle the self-managed certificates keep")
	fs.StringVar(&o.ValidatingWebhookName, "validating-webhook-name", "api-operator-istio", "ValidatingWebhookConfiguration whose CA bundle the self-managed certificates keep")
	fs.StringVar(&o.CASecretName, "ca-secret-name", "api-operator-istio-ca", "Secret holding the self-managed CA")
	fs.DurationVar(&o.GracefulShutdown, "graceful-shutdown-timeout", 30*time.Second, "how long running work may take to stop")
	fs.DurationVar(&o.ShutdownDelay, "shutdown-delay", 5*time.Second, "after SIGTERM, how long the webhooks keep serving before the stop begins, while the Service withdraws the replica (SIGINT stops at once)")
	o.addPolicyFlags(fs)
}

// Validate reports settings that cannot work, naming the allowed values.
func (o *Options) Validate() error {
	if !slices.Contains(Patterns, o.OpenMetricsImplementation) {
		return fmt.Errorf("invalid --openmetrics-implementation (env OPENMETRICS_IMPLEMENTATION) %q: must be one of %s",
			o.OpenMetricsImplementation, strings.Join(Patterns, ", "))
	}
	if o.RouteAPI == "" {
		o.RouteAPI = VirtualService // Options built in code (tests, tools) predate the setting
	}
	if !slices.Contains(RouteAPIs, o.RouteAPI) {
		return fmt.Errorf("invalid --route-api (env APIOPERATORISTIO_ROUTEAPI) %q: must be one of %s",
			o.RouteAPI, strings.Join(RouteAPIs, ", "))
	}
	if err := validateComponentGateway(o.ComponentGateway); err != nil {
		return err
	}
	if err := o.validateInternalSegments(); err != nil {
		return err
	}
	if err := o.validatePublicHostname(); err != nil {
		return err
	}
	if _, err := ParseLogLevel(o.LogLevel); err != nil {
		return err
	}
	if o.LogFormat != "" && !slices.Contains(LogFormats, o.LogFormat) {
		return fmt.Errorf("invalid --log-format (env APIOPERATORISTIO_LOGFORMAT) %q: must be one of %s", o.LogFormat, strings.Join(LogFormats, ", "))
	}
	served, err := namespaces.Parse(o.Namespaces)
	if err != nil {
		return fmt.Errorf("invalid --namespaces (env COMPONENT_NAMESPACE): %w", err)
	}
	o.served = served
	if err := o.validatePolicies(); err != nil {
		return err
	}
	return o.validateRateLimit()
}

func (o *Options) validateInternalSegments() error {
	for _, seg := range o.InternalSegments {
		if !slices.Contains(validation.Segments, seg) {
			return fmt.Errorf("invalid --internal-segments (env APIOPERATORISTIO_INTERNALSEGMENTS): unknown segment %q: use %s",
				seg, strings.Join(validation.Segments, ", "))
		}
	}
	return nil
}

func (o *Options) validateRateLimit() error {
	switch {
	case math.IsNaN(o.KubeAPIQPS) || math.IsInf(o.KubeAPIQPS, 0) || o.KubeAPIQPS > math.MaxFloat32:
		return fmt.Errorf("invalid --kube-api-qps %v: use a positive number, or 0 for no client-side limit", o.KubeAPIQPS)
	case o.KubeAPIBurst < 0:
		return fmt.Errorf("invalid --kube-api-burst %d: use a positive number, or 0 for twice --kube-api-qps", o.KubeAPIBurst)
	case o.KubeAPIBurst > 0 && o.KubeAPIQPS <= 0:
		return fmt.Errorf("--kube-api-burst %d has no effect without a positive --kube-api-qps (0 or negative means no client-side limit)", o.KubeAPIBurst)
	}
	return nil
}

// ParseLogLevel reads a level by name or by Python's numbers (10 debug ... 40 error). 0 is
// Python's NOTSET: the canvas's operator then logs at its root logger's level, which kopf's
// setup leaves at WARNING.
func ParseLogLevel(s string) (zapcore.Level, error) {
	if n, err := strconv.Atoi(strings.TrimSpace(s)); err == nil {
		switch {
		case n == 0:
			return zapcore.WarnLevel, nil
		case n <= 10:
			return zapcore.DebugLevel, nil
		case n <= 20:
			return zapcore.InfoLevel, nil
		case n <= 30:
			return zapcore.WarnLevel, nil
		default:
			return zapcore.ErrorLevel, nil
		}
	}
	var l zapcore.Level
	if err := l.UnmarshalText([]byte(strings.ToLower(strings.TrimSpace(s)))); err != nil {
		return l, fmt.Errorf("invalid --log-level (env LOGGING) %q: use debug, info, warn, error or 10, 20, 30, 40", s)
	}
	return l, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// validateComponentGateway refuses a Gateway reference no route can attach to: every API
// would be routed to no gateway, and, without Istio's validation webhook, say Ready.
func validateComponentGateway(gw string) error {
	problem := ""
	ns, name, qualified := strings.Cut(gw, "/")
	if !qualified {
		ns, name = "", gw
	}
	switch {
	case gw == "":
		problem = "it is empty"
	case qualified && len(k8svalidation.IsDNS1123Label(ns)) > 0:
		problem = fmt.Sprintf("namespace %q is not a namespace name (lower-case letters, digits and '-')", ns)
	case len(k8svalidation.IsDNS1123Subdomain(name)) > 0:
		problem = fmt.Sprintf("name %q is not a Gateway name (lower-case letters, digits, '-' and '.')", name)
	}
	if problem == "" {
		return nil
	}
	return fmt.Errorf("invalid --component-gateway (env APIOPERATORISTIO_COMPONENTGATEWAY) %q: must be a Gateway's name or namespace/name, and %s", gw, problem)
}
