package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/oda-canvas/api-operator-istio/test/harness"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

type latency struct{ p50, p99 time.Duration }

type result struct {
	conv                         []convergence
	idleWrites                   float64
	rss, heap                    float64
	direct, viaAPI, viaAPINoHook latency
	largest                      int
}

func run(ctx context.Context, c config) (*result, error) {
	say("starting the control plane")
	p, err := startPlane(c)
	if err != nil {
		return nil, err
	}
	defer p.stop()
	hooks, err := takeWebhooks(ctx, p)
	if err != nil {
		return nil, err
	}
	if err := gateway(ctx, p); err != nil {
		return nil, err
	}
	say("creating %d unrelated pods and Services", c.extraPods)
	if err := unrelated(ctx, p, c.extraPods); err != nil {
		return nil, err
	}
	res := &result{}
	for _, n := range c.sizes {
		conv, err := measure(ctx, p, c, n)
		if err != nil {
			return nil, err
		}
		res.conv = append(res.conv, conv)
		res.largest = n
	}
	if err := idleAndMemory(ctx, p, c, res); err != nil {
		return nil, err
	}
	return res, webhookLatency(ctx, p, c, hooks, res)
}

func measure(ctx context.Context, p *plane, c config, n int) (convergence, error) {
	ns := fmt.Sprintf("bench-%d", n)
	say("N=%d: creating Services, EndpointSlices, ExposedAPIs and the Component", n)
	apis, err := fixtures(ctx, p, ns, n)
	if err != nil {
		return convergence{}, err
	}
	say("N=%d: the floor (a plain client's minimum writes)", n)
	fl, err := floor(ctx, p, c, apis)
	if err != nil {
		return convergence{}, err
	}
	say("N=%d: the operator", n)
	conv, err := operatorRun(ctx, p, c, ns, n)
	conv.floor, conv.floorWritesPerAPI = fl, 2
	say("N=%d: operator %s, floor %s", n, conv.operator.Round(time.Millisecond), fl.Round(time.Millisecond))
	return conv, err
}

// idleAndMemory restarts the operator over every namespace (a full resync of everything
// converged so far), counts its writes for c.idle, then reads its memory.
func idleAndMemory(ctx context.Context, p *plane, c config, res *result) error {
	say("full resync: counting writes for %s", c.idle)
	port, err := freePort()
	if err != nil {
		return err
	}
	pprof := fmt.Sprintf("127.0.0.1:%d", port)
	op, err := startOperator(c, p, "--enable-webhooks=false", "--pprof-bind-address", pprof)
	if err != nil {
		return err
	}
	defer op.stop()
	if err := op.waitMetrics(); err != nil {
		return err
	}
	time.Sleep(c.idle)
	_, writes, err := op.requests()
	if err != nil {
		return err
	}
	res.idleWrites = writes
	if res.rss, err = op.rss(); err != nil {
		return err
	}
	if res.heap, err = op.heap(); err != nil {
		return err
	}
	return saveHeapProfile(pprof, filepath.Join(c.root, "bin", "bench-heap.pprof"))
}

// saveHeapProfile keeps the operator's heap profile for `go tool pprof`.
func saveHeapProfile(addr, path string) error {
	resp, err := http.Get("http://" + addr + "/debug/pprof/heap") //nolint:noctx // local profiler
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	say("heap profile: %s", path)
	return os.WriteFile(path, raw, 0o644)
}

func gateway(ctx context.Context, p *plane) error {
	if err := p.namespace(ctx, "istio-system"); err != nil {
		return err
	}
	svc := &corev1.Service{ObjectMeta: objectMeta("istio-system", "istio-ingressgateway"), Spec: corev1.ServiceSpec{
		Type: corev1.ServiceTypeLoadBalancer, Ports: []corev1.ServicePort{{Name: "http2", Port: 80}}, Selector: map[string]string{"istio": "ingressgateway"}}}
	svc.Labels = map[string]string{"istio": "ingressgateway"}
	if err := p.admin.Create(ctx, svc); err != nil {
		return err
	}
	svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "192.0.2.10"}}
	return p.admin.Status().Update(ctx, svc)
}

// unrelated are pods and Services of other workloads: the operator must not pay for them.
func unrelated(ctx context.Context, p *plane, n int) error {
	if err := p.namespace(ctx, "unrelated"); err != nil {
		return err
	}
	return parallel(n, 32, func(i int) error {
		name := fmt.Sprintf("workload-%d", i)
		pod := &corev1.Pod{ObjectMeta: objectMeta("unrelated", name), Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "app", Image: "example/app:1", Env: []corev1.EnvVar{{Name: "PADDING", Value: fmt.Sprintf("%0512d", i)}}}}}}
		pod.Labels = map[string]string{"app": name}
		svc := &corev1.Service{ObjectMeta: objectMeta("unrelated", name), Spec: corev1.ServiceSpec{
			ClusterIP: corev1.ClusterIPNone, Selector: map[string]string{"app": name}, Ports: []corev1.ServicePort{{Port: 80}}}}
		if err := p.admin.Create(ctx, pod); err != nil {
			return err
		}
		return p.admin.Create(ctx, svc)
	})
}

// takeWebhooks removes the webhook configurations envtest installed (no webhook server
// runs during the convergence runs) and returns them for the latency figures.
func takeWebhooks(ctx context.Context, p *plane) ([]client.Object, error) {
	var out []client.Object
	for _, o := range []client.Object{&admissionregistrationv1.MutatingWebhookConfiguration{}, &admissionregistrationv1.ValidatingWebhookConfiguration{}} {
		name := harness.MutatingWebhookName
		if _, ok := o.(*admissionregistrationv1.ValidatingWebhookConfiguration); ok {
			name = harness.ValidatingWebhookName
		}
		if err := p.admin.Get(ctx, client.ObjectKey{Name: name}, o); err != nil {
			return nil, err
		}
		if err := p.admin.Delete(ctx, o); err != nil {
			return nil, err
		}
		o.SetResourceVersion("")
		o.SetUID("")
		out = append(out, o)
	}
	return out, nil
}

func say(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[bench %s] "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}
