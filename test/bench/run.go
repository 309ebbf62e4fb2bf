package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/test/harness"
)

type result struct {
	conv       []convergence
	fairness   fairness
	ownLevel   *ownLevel // the operator in the chart's priority level, at the fairness size
	idleWrites float64
	rss, heap  float64 // after a full resync of every namespace
	peakRSS    float64 // during that resync
	admission  admission
	largest    int
	picture    picture
	sweep      []limited // the operator at client-side limits beside the other client
	sweepIdle  other     // that client on the idle plane
}

// fairness is the other client's latency on an idle plane, while the floor converges and
// while the operator converges, at one size.
type fairness struct {
	n                     int
	idle, floor, operator other
	apf                   apf // the priority level during the operator's run
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
	if err := p.warm(ctx); err != nil {
		return nil, err
	}
	if err := p.namespace(ctx, otherNamespace); err != nil {
		return nil, err
	}
	say("creating %d unrelated pods and Services", c.extraPods)
	if err := unrelated(ctx, p, c.extraPods); err != nil {
		return nil, err
	}
	res := &result{}
	for _, n := range c.sizes {
		conv, err := measure(ctx, p, c, n, res)
		if err != nil {
			return nil, err
		}
		res.conv = append(res.conv, conv)
		res.largest = n
	}
	if err := idleAndMemory(ctx, p, c, res); err != nil {
		return nil, err
	}
	// After the full resync, whose memory figure counts the sizes' APIs only.
	if c.ownLevel && res.fairness.idle.requests > 0 {
		if res.ownLevel, err = ownLevelRun(ctx, p, c, c.fairnessN); err != nil {
			return nil, err
		}
		l := res.ownLevel
		res.picture.own, res.picture.ownReads, res.picture.ownWrites = l.progress, l.other.readS, l.other.writeS
	}
	if len(c.sweep) > 0 {
		res.sweepIdle = res.fairness.idle
		if res.sweep, err = sweep(ctx, p, c, &res.sweepIdle); err != nil {
			return nil, err
		}
	}
	res.admission, err = webhookLatency(ctx, p, c, hooks)
	return res, err
}

// measure times the floor (with and, from 1000 APIs, without the Event) and the operator
// at n APIs; at the fairness size the other client runs on the idle plane first, then
// through both. Below the fairness size, where a run lasts seconds and one slow second
// moves the ratio, it does so c.rounds times and keeps each figure's median; a middle
// round times the operator before the floors (operatorFirst), since a run on a plane that
// earlier runs have loaded tends to be slower. The last round times the operator after
// the plain floor: the full resync after the sizes needs the APIs it converged. At the
// fairness size, one round, the wide floor comes after the operator, in a namespace of its
// own (floorsAround). At --head-to-head's sizes it first times the two started together
// (timeHeadToHead), whose ratio the machine's swings between one run and the next do not
// move.
func measure(ctx context.Context, p *plane, c config, n int, res *result) (convergence, error) {
	ns := fmt.Sprintf("bench-%d", n)
	say("N=%d: creating Services, EndpointSlices, ExposedAPIs and the Component", n)
	apis, err := fixtures(ctx, p, ns, n)
	if err != nil {
		return convergence{}, err
	}
	fair := n == c.fairnessN
	var h2h headToHead
	var second []*odav1.ExposedAPI // at the fairness size, for floorsAround
	if h2hRounds := c.h2hRoundsAt(n); h2hRounds > 0 {
		if h2h, second, err = timeHeadToHead(ctx, p, c, apis, h2hRounds, fair); err != nil {
			return convergence{}, err
		}
	}
	rounds := 1
	if !fair && c.rounds > 1 {
		rounds = c.rounds
	}
	var runs []convergence
	for r := range rounds {
		if rounds > 1 {
			say("N=%d: round %d of %d", n, r+1, rounds)
		}
		var conv convergence
		reversed := operatorFirst(r, rounds)
		switch {
		case fair:
			conv, err = floorsAround(ctx, p, c, apis, second, res)
		case reversed:
			conv, err = operatorThenFloors(ctx, p, c, apis, res)
		default:
			conv, err = measureOnce(ctx, p, c, apis, res, r == 0)
		}
		if err != nil {
			return conv, err
		}
		runs = append(runs, conv)
		// A reversed round ends with the floors removed: nothing of the operator's is left.
		if r < rounds-1 && !reversed {
			if err := resetOperator(ctx, p, apis); err != nil {
				return conv, err
			}
		}
	}
	med := medianRun(runs)
	med.h2h = h2h
	return med, nil
}

// operatorFirst tells whether round r of rounds times the operator before the floors:
// every second round but the last.
func operatorFirst(r, rounds int) bool {
	return r%2 == 1 && r < rounds-1
}

// floorRuns are one round's floor runs: the plain floor (16 in flight), the wide one (64),
// and in the first round from 1000 APIs the floor with Events.
type floorRuns struct {
	plain, wide, events time.Duration
	cpu                 cpuTimes
	served              served
	done                *counter // the plain floor's progress, for the picture
	idle, during        other    // at the fairness size: the other client alone and during the plain floor
}

// measureOnce is one round of measure: the floors, then the operator.
func measureOnce(ctx context.Context, p *plane, c config, apis []*odav1.ExposedAPI, res *result, first bool) (convergence, error) {
	fl, err := timeFloors(ctx, p, c, apis, first)
	if err != nil {
		return convergence{}, err
	}
	conv, err := timeOperator(ctx, p, c, apis, res, false, first, fl)
	return withFloors(conv, fl), err
}

// floorsAround is the fairness size's one round: the plain floor, the operator, then the
// wide floor on second's APIs (the same fixtures in a namespace of their own, made here if
// no head-to-head round left them), which are deleted after. So the operator's run is not
// the one on the plane the most runs have loaded (five identical floor runs in a row at
// N = 5000 took from 32.1 to 47.0 s, 2026-12-04), and its APIs stay converged for the full
// resync after the sizes.
func floorsAround(ctx context.Context, p *plane, c config, apis, second []*odav1.ExposedAPI, res *result) (convergence, error) {
	n := len(apis)
	var err error
	if second == nil {
		if second, err = fixtures(ctx, p, secondNamespace(apis[0].Namespace), n); err != nil {
			return convergence{}, err
		}
	}
	fl, err := plainFloor(ctx, p, c, apis, true, true)
	if err != nil {
		return convergence{}, err
	}
	conv, err := timeOperator(ctx, p, c, apis, res, true, true, fl)
	if err != nil {
		return conv, err
	}
	say("N=%d: the floor with %d APIs in flight, after the operator, in %s", n, wideFloorInFlight, second[0].Namespace)
	if fl.wide, err = settledFloor(ctx, p, wideFloor, second); err != nil {
		return conv, err
	}
	conv.wideAfter = true
	return withFloors(conv, fl), removeFixtures(ctx, p, second)
}

// operatorThenFloors is a round that times the operator first; it leaves the APIs as the
// fixtures made them.
func operatorThenFloors(ctx context.Context, p *plane, c config, apis []*odav1.ExposedAPI, res *result) (convergence, error) {
	conv, err := timeOperator(ctx, p, c, apis, res, false, false, floorRuns{})
	if err != nil {
		return conv, err
	}
	if err := resetOperator(ctx, p, apis); err != nil {
		return conv, err
	}
	fl, err := timeFloors(ctx, p, c, apis, false)
	return withFloors(conv, fl), err
}

// withFloors completes a round's operator figures with its floors' and logs the round.
func withFloors(conv convergence, fl floorRuns) convergence {
	conv.floor16, conv.floor64 = fl.plain, fl.wide
	conv.floor, conv.floorEvents, conv.floorCPU, conv.floorServed = min(fl.plain, fl.wide), fl.events, fl.cpu, fl.served
	say("N=%d: operator %s, floor %s; CPU during the operator's run %s, the floor's %s", conv.n, conv.operator.Round(time.Millisecond),
		conv.floor.Round(time.Millisecond), conv.operatorCPU, fl.cpu)
	return conv
}

// timeFloors times the floors of one round below the fairness size and removes what they
// wrote.
func timeFloors(ctx context.Context, p *plane, c config, apis []*odav1.ExposedAPI, first bool) (floorRuns, error) {
	n := len(apis)
	fl, err := plainFloor(ctx, p, c, apis, false, first)
	if err != nil {
		return fl, err
	}
	// Once, and not at the fairness size (floorsAround): there it would cost another minute
	// and a half, and make bench is to finish within 15 minutes on two cores.
	if n >= 1000 && first {
		say("N=%d: the floor with an Event per API as well", n)
		if fl.events, err = otherFloor(ctx, p, floorWrites{name: "floorev", events: true}, apis); err != nil {
			return fl, err
		}
	}
	say("N=%d: the floor with %d APIs in flight", n, wideFloorInFlight)
	fl.wide, err = otherFloor(ctx, p, wideFloor, apis)
	return fl, err
}

// plainFloor times the floor at floorInFlight and removes what it wrote; at the fairness
// size with the other client beside it, after its idle baseline.
func plainFloor(ctx context.Context, p *plane, c config, apis []*odav1.ExposedAPI, fair, first bool) (floorRuns, error) {
	n := len(apis)
	var fl floorRuns
	var err error
	if fair {
		say("N=%d: the other client on the idle plane for %s", n, c.idleWindow)
		if fl.idle, err = otherAlone(ctx, p, c.idleWindow); err != nil {
			return fl, err
		}
	}
	say("N=%d: the floor (a plain client's minimum writes, no client-side limit)", n)
	if err := p.settle(ctx); err != nil {
		return fl, err
	}
	fl.done = &counter{series: newSeries(time.Now())}
	var o *otherClient
	if fair {
		if o, err = startOther(ctx, p, fl.done.start); err != nil {
			return fl, err
		}
	}
	plain := floorWrites{name: "floor"}
	waitProfile := apiserverProfile(ctx, p, c, "floor", n, first)
	before, cpuBefore := tally(ctx, p), readCPU()
	fl.plain, err = watchedFloor(ctx, p, plain, apis, fl.done)
	fl.cpu = readCPU().since(cpuBefore)
	fl.served = logServed(n, "the floor's run", before)
	waitProfile()
	if fair {
		fl.during = o.finish()
	}
	if err != nil {
		return fl, err
	}
	return fl, removeFloor(ctx, p, plain, apis)
}

// timeOperator times the operator with its default settings on a settled plane; at the
// fairness size with the other client beside it, whose figures (and fl's) it keeps in res.
func timeOperator(ctx context.Context, p *plane, c config, apis []*odav1.ExposedAPI, res *result, fair, first bool, fl floorRuns) (convergence, error) {
	n, ns := len(apis), apis[0].Namespace
	say("N=%d: the operator, default settings", n)
	if err := p.settle(ctx); err != nil {
		return convergence{}, err
	}
	progress := newSeries(time.Now())
	var o *otherClient
	var apfBefore apf
	var err error
	if fair {
		if o, err = startOther(ctx, p, progress.start); err != nil {
			return convergence{}, err
		}
		if apfBefore, err = apfSnapshot(ctx, p); err != nil {
			return convergence{}, err
		}
	}
	waitProfile := apiserverProfile(ctx, p, c, "operator", n, first)
	before := tally(ctx, p)
	conv, err := operatorRun(ctx, p, c, ns, n, progress, profileFor(c, n, first), strings.Fields(c.operatorFlags)...)
	conv.operatorServed = logServed(n, "the operator's run", before)
	waitProfile()
	if fair {
		res.fairness = fairness{n: n, idle: fl.idle, floor: fl.during, operator: o.finish()}
		apfAfter, aerr := apfSnapshot(ctx, p)
		if aerr != nil {
			return conv, aerr
		}
		res.fairness.apf = apfAfter.since(apfBefore)
		f := res.fairness
		res.picture = picture{n: n, operator: progress.all(), floor: fl.done.all(), reads: f.operator.readS, writes: f.operator.writeS}
	}
	return conv, err
}

// otherFloor times a variant of the floor on a settled plane and removes what it wrote.
func otherFloor(ctx context.Context, p *plane, f floorWrites, apis []*odav1.ExposedAPI) (time.Duration, error) {
	d, err := settledFloor(ctx, p, f, apis)
	if err != nil {
		return 0, err
	}
	return d, removeFloor(ctx, p, f, apis)
}

// settledFloor times a variant of the floor on a settled plane, leaving what it wrote.
func settledFloor(ctx context.Context, p *plane, f floorWrites, apis []*odav1.ExposedAPI) (time.Duration, error) {
	if err := p.settle(ctx); err != nil {
		return 0, err
	}
	return watchedFloor(ctx, p, f, apis, &counter{series: newSeries(time.Now())})
}

// watchedFloor runs the floor under the same watcher as the operator's run has: its watches
// load the API server and the bench alike.
func watchedFloor(ctx context.Context, p *plane, f floorWrites, apis []*odav1.ExposedAPI, done *counter) (time.Duration, error) {
	w, err := watch(ctx, p, apis[0].Namespace)
	if err != nil {
		return 0, err
	}
	defer w.stop()
	return floor(ctx, p, f, apis, done)
}

// otherAlone runs the other client for d with nothing else going on.
func otherAlone(ctx context.Context, p *plane, d time.Duration) (other, error) {
	o, err := startOther(ctx, p, time.Now())
	if err != nil {
		return other{}, err
	}
	time.Sleep(d)
	return o.finish(), nil
}

// idleAndMemory restarts the operator over every namespace (a full resync of everything
// converged so far), counts its writes for c.idle, then reads its memory.
func idleAndMemory(ctx context.Context, p *plane, c config, res *result) error {
	say("full resync: counting writes for %s", c.idle)
	port, err := harness.NewPort()
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
	if err := idleAgain(ctx, p, c, res); err != nil {
		return err
	}
	_, writes, err := op.requests()
	if err != nil {
		return err
	}
	res.idleWrites = writes
	if res.rss, err = op.memory("VmRSS"); err != nil {
		return err
	}
	if res.peakRSS, err = op.memory("VmHWM"); err != nil {
		return err
	}
	if res.heap, err = op.heap(); err != nil {
		return err
	}
	say("after the full resync: %s", op.memoryBreakdown())
	return saveProfile(pprof, "heap", filepath.Join(c.root, "bin", "bench-heap.pprof"))
}

// idleAgain waits out the idle-writes window; when the other client had an idle baseline,
// it runs again in the window's last c.idleWindow (at most half of it), the operator idle
// over everything converged, and the baseline becomes the quieter of the two (quieter).
func idleAgain(ctx context.Context, p *plane, c config, res *result) error {
	if res.fairness.idle.requests == 0 {
		time.Sleep(c.idle)
		return nil
	}
	window := min(c.idleWindow, c.idle/2)
	time.Sleep(c.idle - window)
	again, err := otherAlone(ctx, p, window)
	if err != nil {
		return err
	}
	first := res.fairness.idle
	say("the other client on the idle plane again, the operator idle: p99 %s (GET), %s (ConfigMap); the first window %s, %s",
		ms(again.reads.p99), ms(again.writes.p99), ms(first.reads.p99), ms(first.writes.p99))
	res.fairness.idle = quieter(first, again)
	return nil
}

// saveProfile keeps one of the operator's profiles (heap, or profile?seconds=N for CPU)
// for `go tool pprof`.
func saveProfile(addr, kind, path string) error {
	if err := download(context.Background(), http.DefaultClient, "http://"+addr+"/debug/pprof/"+kind, path); err != nil {
		return err
	}
	say("profile: %s", path)
	return nil
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

// medianRun is the round with the median operator time, with each floor the median of its
// runs; the floor with Events ran in the first round only.
func medianRun(runs []convergence) convergence {
	pick := func(get func(convergence) time.Duration) time.Duration {
		ds := make([]time.Duration, len(runs))
		for i, r := range runs {
			ds[i] = get(r)
		}
		slices.Sort(ds)
		return ds[len(ds)/2]
	}
	med := pick(func(r convergence) time.Duration { return r.operator })
	i := slices.IndexFunc(runs, func(r convergence) bool { return r.operator == med })
	out := runs[i]
	out.floor16 = pick(func(r convergence) time.Duration { return r.floor16 })
	out.floor64 = pick(func(r convergence) time.Duration { return r.floor64 })
	out.floor, out.floorEvents, out.rounds = min(out.floor16, out.floor64), runs[0].floorEvents, len(runs)
	for _, r := range runs {
		out.roundRatios = append(out.roundRatios, r.operator.Seconds()/r.floor.Seconds())
	}
	return out
}
