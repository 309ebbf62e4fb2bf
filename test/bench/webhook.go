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
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/internal/app"
	"github.com/oda-canvas/api-operator-istio/internal/routes"
	"github.com/oda-canvas/api-operator-istio/test/harness"
	"github.com/oda-canvas/api-operator-istio/webhooks"
)

// admission are the admission figures: creates through the API server one after another
// and at a fixed concurrency, without and with the webhooks registered, on an otherwise
// idle plane: served by a replica that is not the leader (as the chart's second replica
// is), so that nothing else runs. With --admission-busy, one after another again with the
// replica also reconciling each API created, on the same two cores as the API server.
type admission struct {
	direct                     latency
	seq, seqHook, con, conHook latency
	busy, busyHook             latency
	// Where the tail comes from: the handlers' own time (the webhook server's histogram),
	// the connections the API server left on the webhook port (one TIME_WAIT per closed
	// connection: a TLS handshake each), and the operator's GC cycles during the
	// sequential creates.
	handlerP99 string
	conns      map[string]int
	gcCycles   float64
}

// The webhooks are registered for hookedNamespace only; creates alternate between it and
// plainNamespace, so that both see the same moment's load and only the webhooks differ.
const (
	hookedNamespace = "admission"
	plainNamespace  = "admission-plain"
	hookedLabel     = "bench-webhooks"
	leaseNamespace  = "default"
)

func webhookLatency(ctx context.Context, p *plane, c config, hooks []client.Object) (admission, error) {
	var a admission
	// Right after the fairness sweep the API server may still be catching up.
	say("admission: the machine quiet after %s", secs(waitQuiet(30*time.Second, machineCPU)))
	say("admission: handlers called directly")
	var err error
	if a.direct, err = direct(c); err != nil {
		return a, err
	}
	if err := admissionNamespaces(ctx, p, hooks); err != nil {
		return a, err
	}
	if err := holdLease(ctx, p); err != nil {
		return a, err
	}
	if err := webhooksAlone(ctx, p, c, &a); err != nil || !c.admissionBusy {
		return a, err
	}
	say("admission: %d creates one after another in each namespace, the replica also reconciling them", c.admissionCreates)
	op, err := webhookOperator(ctx, p, c)
	if err != nil {
		return a, err
	}
	defer op.stop()
	if a.busy, a.busyHook, err = pairedCreates(ctx, p, c.admissionCreates, 1, "busy"); err != nil {
		return a, err
	}
	return a, op.quiet(2 * time.Second) // stopped mid-reconcile, it would log each cut request
}

// webhooksAlone measures the webhooks served by a replica that waits for the lease
// holdLease gave another: it reconciles nothing.
func webhooksAlone(ctx context.Context, p *plane, c config, a *admission) error {
	op, err := webhookOperator(ctx, p, c, "--leader-elect", "--leader-election-namespace", leaseNamespace)
	if err != nil {
		return err
	}
	defer op.stop()
	before, err := op.snapshot()
	if err != nil {
		return err
	}
	say("admission: %d creates one after another in each namespace, alternating", c.admissionCreates)
	if a.seq, a.seqHook, err = pairedCreates(ctx, p, c.admissionCreates, 1, "seq"); err != nil {
		return err
	}
	a.conns = connections(p.env.WebhookInstallOptions.LocalServingPort)
	after, err := op.snapshot()
	if err != nil {
		return err
	}
	a.gcCycles = after.gcCycles - before.gcCycles
	a.handlerP99 = histogramQuantile(subtract(after.webhookBuckets, before.webhookBuckets), 0.99)
	say("admission: the same at concurrency %d", c.concurrency)
	a.con, a.conHook, err = pairedCreates(ctx, p, c.admissionCreates, c.concurrency, "con")
	return err
}

// webhookOperator starts the operator serving the webhooks on envtest's webhook address for
// the two namespaces, and waits until they answer and it writes nothing.
func webhookOperator(ctx context.Context, p *plane, c config, args ...string) (*operatorProcess, error) {
	w := p.env.WebhookInstallOptions
	op, err := startOperator(c, p, append([]string{"--namespaces", hookedNamespace + "," + plainNamespace, "--enable-webhooks=true",
		"--webhook-host", w.LocalServingHost, "--webhook-port", fmt.Sprint(w.LocalServingPort), "--webhook-cert-dir", w.LocalServingCertDir}, args...)...)
	if err != nil {
		return nil, err
	}
	err = op.waitMetrics()
	if err == nil {
		err = harness.WaitForWebhook(ctx, p.admin, hookedNamespace, 20*time.Second)
	}
	if err == nil {
		err = op.quiet(2 * time.Second)
	}
	if err != nil {
		op.stop()
		return nil, err
	}
	return op, nil
}

// holdLease gives the operator's leader election lease to another holder for an hour: a
// replica started with --leader-elect then serves the webhooks and reconciles nothing.
func holdLease(ctx context.Context, p *plane) error {
	now := metav1.NewMicroTime(time.Now())
	lease := &coordinationv1.Lease{ObjectMeta: objectMeta(leaseNamespace, app.LeaderElectionID),
		Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To("another-replica"), LeaseDurationSeconds: ptr.To(int32(3600)),
			AcquireTime: &now, RenewTime: &now}}
	return p.admin.Create(ctx, lease)
}

// admissionNamespaces makes the two namespaces and registers the webhooks for the labelled
// one only.
func admissionNamespaces(ctx context.Context, p *plane, hooks []client.Object) error {
	hooked := &corev1.Namespace{ObjectMeta: objectMeta("", hookedNamespace)}
	hooked.Labels = map[string]string{hookedLabel: "on"}
	if err := p.admin.Create(ctx, hooked); err != nil {
		return err
	}
	if err := p.namespace(ctx, plainNamespace); err != nil {
		return err
	}
	only := &metav1.LabelSelector{MatchLabels: map[string]string{hookedLabel: "on"}}
	for _, h := range hooks {
		switch h := h.(type) {
		case *admissionregistrationv1.MutatingWebhookConfiguration:
			for i := range h.Webhooks {
				h.Webhooks[i].NamespaceSelector = only
			}
		case *admissionregistrationv1.ValidatingWebhookConfiguration:
			for i := range h.Webhooks {
				h.Webhooks[i].NamespaceSelector = only
			}
		}
		if err := p.admin.Create(ctx, h); err != nil {
			return err
		}
	}
	return nil
}

// pairedCreates creates n ExposedAPIs in each namespace on workers goroutines, one of each
// per step, in alternating order; it returns the latencies without and with the webhooks.
func pairedCreates(ctx context.Context, p *plane, n, workers int, prefix string) (plain, hooked latency, err error) {
	durations := [2][]time.Duration{make([]time.Duration, n), make([]time.Duration, n)}
	namespaces := [2]string{plainNamespace, hookedNamespace}
	var mu sync.Mutex
	err = parallel(n, workers, func(i int) error {
		for k := range 2 {
			which := (i + k) % 2
			start := time.Now()
			if err := createAPI(ctx, p, namespaces[which], fmt.Sprintf("%s-%d", prefix, i)); err != nil {
				return err
			}
			mu.Lock()
			durations[which][i] = time.Since(start)
			mu.Unlock()
		}
		return nil
	})
	return percentiles(durations[0]), percentiles(durations[1]), err
}

// createAPI creates an ExposedAPI as the admin (exempt from API Priority and Fairness: only
// admission is measured).
func createAPI(ctx context.Context, p *plane, ns, name string) error {
	api := &odav1.ExposedAPI{ObjectMeta: objectMeta(ns, name),
		Spec: odav1.ExposedAPISpec{Name: "x", APIType: "openapi", Implementation: "impl", Path: "/" + ns + "/" + name, Port: 8080}}
	api.Labels = map[string]string{odav1.ComponentNameLabel: "shop"}
	return p.admin.Create(ctx, api)
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
