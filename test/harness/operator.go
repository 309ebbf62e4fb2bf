package harness

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/oda-canvas/api-operator-istio/internal/app"
)

// Operator is the operator running in the test process against an Env.
type Operator struct {
	*app.Operator
	requests *RequestCounter
	cancel   context.CancelFunc
	done     chan error
}

// RequestCounter counts the requests a client sends, by HTTP method, and keeps the ones
// the API server refused.
type RequestCounter struct {
	mu        sync.Mutex
	counts    map[string]int
	paths     []string
	all       []*http.Request
	forbidden []string
}

// Wrap makes cfg count its requests here.
func (c *RequestCounter) Wrap(cfg *rest.Config) *rest.Config {
	cfg = rest.CopyConfig(cfg)
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			c.mu.Lock()
			if c.counts == nil {
				c.counts = map[string]int{}
			}
			c.counts[r.Method]++
			if r.Method != http.MethodGet {
				c.paths = append(c.paths, r.Method+" "+r.URL.Path)
			}
			c.all = append(c.all, &http.Request{Method: r.Method, URL: r.URL})
			c.mu.Unlock()
			resp, err := rt.RoundTrip(r)
			if err == nil && resp.StatusCode == http.StatusForbidden {
				c.mu.Lock()
				c.forbidden = append(c.forbidden, r.Method+" "+r.URL.RequestURI())
				c.mu.Unlock()
			}
			return resp, err
		})
	})
	return cfg
}

// Writes is how many requests other than GET were sent, and what they were.
func (c *RequestCounter) Writes() (int, []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for m, v := range c.counts {
		if m != http.MethodGet {
			n += v
		}
	}
	return n, append([]string(nil), c.paths...)
}

// All are every request sent so far (method and URL only).
func (c *RequestCounter) All() []*http.Request {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*http.Request(nil), c.all...)
}

// Forbidden are the requests the API server answered 403 (method and URL): what the
// client was not granted, whether or not anything waited for the outcome.
func (c *RequestCounter) Forbidden() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.forbidden...)
}

// Reads is how many GET requests (gets, lists, watches) were sent.
func (c *RequestCounter) Reads() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.counts[http.MethodGet]
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// DefaultOptions are the operator's options for tests: no ports bound but the webhook's.
func DefaultOptions() *app.Options {
	return &app.Options{
		ComponentGateway:          "component-gateway",
		OpenMetricsImplementation: app.ServiceMonitor,
		LogLevel:                  "info",
		MetricsBindAddress:        "0",
		HealthProbeBindAddress:    "0",
		KubeAPIQPS:                200,
		KubeAPIBurst:              400,
		MaxConcurrentReconciles:   4,
		SkipNameValidation:        true,
		GracefulShutdown:          5 * time.Second,
		// A real gateway's 30 s would outlast the tests' waits for the checks of a moved route.
		MoveSettle: 2 * time.Second,
	}
}

// StartOperator runs the operator on env until the test ends.
func StartOperator(t testing.TB, env *Env, o *app.Options) *Operator {
	t.Helper()
	return StartOperatorAs(t, env, env.Config, o)
}

// StartOperatorAs runs the operator with the client configuration cfg, e.g. one that
// impersonates a ServiceAccount.
func StartOperatorAs(t testing.TB, env *Env, cfg *rest.Config, o *app.Options) *Operator {
	t.Helper()
	ctrl.SetLogger(zap.New(zap.UseDevMode(true), zap.WriteTo(testWriter{t})))
	if env.webhooks && !o.EnableWebhooks {
		o.EnableWebhooks = true
		o.WebhookHost, o.WebhookPort, o.WebhookCertDir = env.WebhookServing()
	}
	counter := &RequestCounter{}
	op, err := app.New(counter.Wrap(cfg), o)
	if err != nil {
		t.Fatalf("building the operator: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &Operator{Operator: op, requests: counter, cancel: cancel, done: make(chan error, 1)}
	go func() { h.done <- op.Manager.Start(ctx) }()
	t.Cleanup(h.Stop)
	return h
}

// Requests counts what the operator sent to the API server.
func (h *Operator) Requests() *RequestCounter { return h.requests }

// ReadyCheck runs every /readyz check; the first failure is returned.
func (h *Operator) ReadyCheck(req *http.Request) error {
	for name, check := range h.ReadyChecks {
		if err := check(req); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

// Stop stops the operator and waits for it.
func (h *Operator) Stop() {
	if h.cancel == nil {
		return
	}
	h.cancel()
	h.cancel = nil
	<-h.done
}

// testWriter sends logs to the test's log, shown on failure or with -v.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	defer func() { _ = recover() }() // a log line after the test ended
	w.t.Log(string(p))
	return len(p), nil
}
