package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/internal/routes"
	"github.com/oda-canvas/api-operator-istio/test/harness"
	"github.com/oda-canvas/api-operator-istio/webhooks"
)

// admission are the admission figures: creates through the API server one after another
// and at a fixed concurrency, without and with the webhooks registered, on an otherwise
// idle plane.
type admission struct {
	direct                     latency
	seq, seqHook, con, conHook latency
	// Where the tail comes from: the handlers' own time (the webhook server's histogram),
	// the connections the API server left on the webhook port (one TIME_WAIT per closed
	// connection: a TLS handshake each), and the operator's GC cycles during the
	// sequential creates.
	handlerP99 string
	conns      map[string]int
	gcCycles   float64
}

func webhookLatency(ctx context.Context, p *plane, c config, hooks []client.Object) (admission, error) {
	var a admission
	say("admission: handlers called directly")
	var err error
	if a.direct, err = direct(c); err != nil {
		return a, err
	}
	if err := p.namespace(ctx, "admission"); err != nil {
		return a, err
	}
	// The operator runs in both: the creates it reconciles load the plane the same way, and
	// only the webhook configurations differ.
	w := p.env.WebhookInstallOptions
	op, err := startOperator(c, p, "--namespaces", "admission", "--enable-webhooks=true", "--webhook-host", w.LocalServingHost,
		"--webhook-port", fmt.Sprint(w.LocalServingPort), "--webhook-cert-dir", w.LocalServingCertDir)
	if err != nil {
		return a, err
	}
	defer op.stop()
	if err := op.waitMetrics(); err != nil {
		return a, err
	}
	say("admission: %d creates one after another, and at concurrency %d, without webhooks", c.admissionCreates, c.concurrency)
	if a.seq, a.con, err = createRuns(ctx, p, c, op, "nohook"); err != nil {
		return a, err
	}
	for _, h := range hooks {
		if err := p.admin.Create(ctx, h); err != nil {
			return a, err
		}
	}
	if err := harness.WaitForWebhook(ctx, p.admin, "admission", 20*time.Second); err != nil {
		return a, err
	}
	if err := op.quiet(2 * time.Second); err != nil {
		return a, err
	}
	before, err := op.snapshot()
	if err != nil {
		return a, err
	}
	say("admission: the same with the webhooks")
	a.seqHook, err = timedCreates(ctx, p, c.admissionCreates, 1, "hook-seq")
	if err != nil {
		return a, err
	}
	a.conns = connections(w.LocalServingPort)
	after, err := op.snapshot()
	if err != nil {
		return a, err
	}
	a.gcCycles = after.gcCycles - before.gcCycles
	a.handlerP99 = histogramQuantile(subtract(after.webhookBuckets, before.webhookBuckets), 0.99)
	if err := op.quiet(2 * time.Second); err != nil {
		return a, err
	}
	if a.conHook, err = timedCreates(ctx, p, c.admissionCreates, c.concurrency, "hook-con"); err != nil {
		return a, err
	}
	return a, op.quiet(2 * time.Second) // stopped mid-reconcile, it would log each cut request
}

func createRuns(ctx context.Context, p *plane, c config, op *operatorProcess, prefix string) (seq, con latency, err error) {
	if err = op.quiet(2 * time.Second); err != nil {
		return
	}
	if seq, err = timedCreates(ctx, p, c.admissionCreates, 1, prefix+"-seq"); err != nil {
		return
	}
	if err = op.quiet(2 * time.Second); err != nil {
		return
	}
	con, err = timedCreates(ctx, p, c.admissionCreates, c.concurrency, prefix+"-con")
	return
}

func review(i int) []byte {
	api := &odav1.ExposedAPI{TypeMeta: metav1.TypeMeta{APIVersion: "oda.tmforum.org/v1", Kind: "ExposedAPI"},
		ObjectMeta: metav1.ObjectMeta{Namespace: "admission", Name: fmt.Sprintf("api-%d", i), Labels: map[string]string{odav1.ComponentNameLabel: "shop"}},
		Spec:       odav1.ExposedAPISpec{Name: "x", APIType: "OpenAPI", Implementation: "impl", Path: fmt.Sprintf("/a//%d/", i), Port: 8080}}
	raw, _ := json.Marshal(api)
	body, _ := json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{UID: types.UID(fmt.Sprint(i)), Operation: admissionv1.Create,
			Kind: metav1.GroupVersionKind{Group: "oda.tmforum.org", Version: "v1", Kind: "ExposedAPI"}, Object: runtime.RawExtension{Raw: raw}},
	})
	return body
}

// direct times both handlers on AdmissionReview bodies (the conflict lookup left out: it
// needs a cache, and is one index read).
func direct(c config) (latency, error) {
	handlers := []http.Handler{
		&webhook.Admission{Handler: webhooks.Defaulter{}},
		&webhook.Admission{Handler: &webhooks.Validator{Routes: routes.Settings{Gateway: "component-gateway"}}},
	}
	return timed(c.webhookRequests, c.concurrency, func(i int) error {
		for _, h := range handlers {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(review(i)))
			req.Header.Set("Content-Type", "application/json")
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				return fmt.Errorf("admission answered %d", rec.Code)
			}
		}
		return nil
	})
}

// timedCreates creates n ExposedAPIs on workers goroutines, as the admin (exempt from API
// Priority and Fairness: only admission is measured).
func timedCreates(ctx context.Context, p *plane, n, workers int, prefix string) (latency, error) {
	return timed(n, workers, func(i int) error {
		api := &odav1.ExposedAPI{ObjectMeta: objectMeta("admission", fmt.Sprintf("%s-%d", prefix, i)),
			Spec: odav1.ExposedAPISpec{Name: "x", APIType: "openapi", Implementation: "impl", Path: fmt.Sprintf("/%s/%d", prefix, i), Port: 8080}}
		api.Labels = map[string]string{odav1.ComponentNameLabel: "shop"}
		return p.admin.Create(ctx, api)
	})
}

// timed runs fn n times on workers goroutines and returns the latency percentiles.
func timed(n, workers int, fn func(i int) error) (latency, error) {
	durations := make([]time.Duration, n)
	var mu sync.Mutex
	err := parallel(n, workers, func(i int) error {
		start := time.Now()
		err := fn(i)
		mu.Lock()
		durations[i] = time.Since(start)
		mu.Unlock()
		return err
	})
	return percentiles(durations), err
}
