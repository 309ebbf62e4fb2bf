package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	istioapi "istio.io/api/networking/v1"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/controllers/exposedapi"
	"github.com/oda-canvas/api-operator-istio/internal/app"
	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// convergence is one size's figures.
type convergence struct {
	n                int
	operator, floor  time.Duration
	floorEvents      time.Duration // the floor with an Event per API as well; 0 when not run
	floor16, floor64 time.Duration // the floor at floorInFlight and wideFloorInFlight; floor is the faster
	wideAfter        bool          // floor64 ran after the operator, in a namespace of its own (floorsAround)
	reads, writes    float64       // per ExposedAPI
	peakRSS          float64
	reconciles       string        // by controller and result, and work queue retries
	waits            string        // the ExposedAPI workers' load and the operator's request latency
	rounds           int           // runs of each, the figures their medians (1: one run)
	roundRatios      []float64     // each round's operator time over that round's own floor, in order
	firstAPI         time.Duration // from the operator's start to its first converged API
	allAPIs          time.Duration // to its last: the rest of the run is the Component's entries
	// CPU used by every process of the machine's run, during the floor's and the operator's
	floorCPU, operatorCPU cpuTimes
	// what the API server served during the floor's (16 in flight) and the operator's runs
	floorServed, operatorServed served
	// the operator and the floor started together, at one of --head-to-head's sizes
	h2h headToHead
}

// componentName is the Component the fixtures' APIs belong to.
const componentName = "shop"

func objectMeta(ns, name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: ns, Name: name}
}

// fixtures makes n implementation Services with a ready EndpointSlice, n ExposedAPIs (half
// owned by one Component) and the Component's entries for them.
func fixtures(ctx context.Context, p *plane, ns string, n int) ([]*odav1.ExposedAPI, error) {
	if err := p.namespace(ctx, ns); err != nil {
		return nil, err
	}
	comp := &odav1.Component{ObjectMeta: objectMeta(ns, componentName)}
	if err := p.admin.Create(ctx, comp); err != nil {
		return nil, err
	}
	apis := make([]*odav1.ExposedAPI, n)
	err := parallel(n, 32, func(i int) error {
		name := fmt.Sprintf("api-%d", i)
		svc := &corev1.Service{ObjectMeta: objectMeta(ns, name), Spec: corev1.ServiceSpec{
			ClusterIP: corev1.ClusterIPNone, // envtest's Service range holds 256 addresses
			Selector:  map[string]string{"app": name}, Ports: []corev1.ServicePort{{Name: "http", Port: 8080}}}}
		slice := &discoveryv1.EndpointSlice{ObjectMeta: objectMeta(ns, name), AddressType: discoveryv1.AddressTypeIPv4,
			Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.0.0.1"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}}}
		slice.Labels = map[string]string{discoveryv1.LabelServiceName: name}
		api := &odav1.ExposedAPI{ObjectMeta: objectMeta(ns, name), Spec: odav1.ExposedAPISpec{
			Name: name, APIType: odav1.APITypeOpenAPI, Implementation: name, Path: "/" + ns + "/" + name, Port: 8080, Segment: odav1.SegmentCore}}
		api.Labels = map[string]string{odav1.ComponentNameLabel: componentName}
		if i%2 == 0 {
			api.OwnerReferences = []metav1.OwnerReference{{APIVersion: "oda.tmforum.org/v1", Kind: "Component", Name: componentName, UID: comp.UID}}
		}
		for _, o := range []client.Object{svc, slice, api} {
			if err := p.admin.Create(ctx, o); err != nil {
				return err
			}
		}
		apis[i] = api
		return nil
	})
	if err != nil {
		return nil, err
	}
	return apis, patchComponent(ctx, p.admin, ns, componentEntries(apis))
}

// componentEntries is the status patch that lists every other API as the Component's, by
// name and uid only, as the Component's own operator writes them.
func componentEntries(apis []*odav1.ExposedAPI) []byte {
	return entriesPatch(apis, func(*odav1.ExposedAPI, map[string]any) {})
}

// convergedEntries is componentEntries with each entry's URL and readiness, as the
// operator leaves them: the floor's one Component write.
func convergedEntries(apis []*odav1.ExposedAPI) []byte {
	return entriesPatch(apis, func(api *odav1.ExposedAPI, e map[string]any) {
		e["url"], e["ready"] = floorURL(api), true
	})
}

func entriesPatch(apis []*odav1.ExposedAPI, fill func(*odav1.ExposedAPI, map[string]any)) []byte {
	var entries []any
	for i := 0; i < len(apis); i += 2 {
		e := map[string]any{"name": apis[i].Name, "uid": string(apis[i].UID)}
		fill(apis[i], e)
		entries = append(entries, e)
	}
	raw, _ := json.Marshal(map[string]any{"status": map[string]any{"coreAPIs": entries}})
	return raw
}

func floorURL(api *odav1.ExposedAPI) string { return "https://192.0.2.10" + api.Spec.Path }

// floorWrites is what a plain client writes per API: a VirtualService and a status, and
// with events an Event as well (the operator's happy path before it dropped that Event);
// then the Component's entries, once.
type floorWrites struct {
	name   string
	events bool
	// inFlight is how many APIs the floor writes at once (floorInFlight when 0).
	inFlight int
}

// floorInFlight is the floor's usual concurrency, the operator's default number of workers;
// a second floor run with wideFloorInFlight shows whether the API server could go faster
// than that, so that the headline floor is never one slowed to the operator's pace.
const (
	floorInFlight     = 16
	wideFloorInFlight = 64
)

// wideFloor is the floor at wideFloorInFlight.
var wideFloor = floorWrites{name: "floorwide", inFlight: wideFloorInFlight}

func (f floorWrites) concurrency() int {
	if f.inFlight > 0 {
		return f.inFlight
	}
	return floorInFlight
}

// floor is a plain client, with the operator's identity and no client-side rate limit,
// doing only the minimum writes, of the same objects the operator writes, the Component's
// entries among them (the operator's convergence counts them too). Its VirtualServices go
// (removeFloor) before the operator runs, so that the operator's caches hold only its own.
func floor(ctx context.Context, p *plane, f floorWrites, apis []*odav1.ExposedAPI, done *counter) (time.Duration, error) {
	cl, err := client.New(p.operator, client.Options{Scheme: app.Scheme()})
	if err != nil {
		return 0, err
	}
	start := time.Now()
	err = parallel(len(apis), f.concurrency(), func(i int) error {
		api := apis[i]
		vs := floorVirtualService(f, api)
		if err := cl.Create(ctx, vs); err != nil {
			return err
		}
		raw, _ := json.Marshal(map[string]any{"status": floorStatus(api, vs)})
		if err := cl.Status().Patch(ctx, api.DeepCopy(), client.RawPatch(types.MergePatchType, raw)); err != nil {
			return err
		}
		if f.events {
			if err := cl.Create(ctx, floorEvent(api, vs)); err != nil {
				return err
			}
		}
		done.inc()
		return nil
	})
	if err == nil {
		err = patchComponent(ctx, cl, apis[0].Namespace, convergedEntries(apis))
	}
	return time.Since(start), err
}

// removeFloor deletes the floor's VirtualServices and clears the statuses it wrote, so that
// the operator starts from the APIs as they were created.
func removeFloor(ctx context.Context, p *plane, f floorWrites, apis []*odav1.ExposedAPI) error {
	return resetAPIs(ctx, p, apis, client.MatchingLabels{"bench-floor": f.name})
}

// resetOperator undoes what the operator did to apis, for another round.
func resetOperator(ctx context.Context, p *plane, apis []*odav1.ExposedAPI) error {
	return resetAPIs(ctx, p, apis, client.MatchingLabels{exposedapi.ManagedByLabel: exposedapi.ManagedByValue})
}

// resetAPIs puts apis back as the fixtures made them: the VirtualServices routes selects
// deleted, the APIs' statuses cleared, the Component's entries without URLs.
func resetAPIs(ctx context.Context, p *plane, apis []*odav1.ExposedAPI, routes client.MatchingLabels) error {
	ns := apis[0].Namespace
	// The VirtualServices' delete beside the statuses': the API server deletes a
	// collection's items one by one.
	err := parallel(len(apis)+1, 16, func(i int) error {
		if i == 0 {
			return p.admin.DeleteAllOf(ctx, &networkingv1.VirtualService{}, client.InNamespace(ns), routes)
		}
		return p.admin.Status().Patch(ctx, apis[i-1].DeepCopy(), client.RawPatch(types.MergePatchType, []byte(`{"status":null}`)))
	})
	if err != nil {
		return err
	}
	return patchComponent(ctx, p.admin, ns, componentEntries(apis))
}

// patchComponent merges raw into the status of the fixtures' Component in ns.
func patchComponent(ctx context.Context, cl client.Client, ns string, raw []byte) error {
	comp := &odav1.Component{ObjectMeta: objectMeta(ns, componentName)}
	return cl.Status().Patch(ctx, comp, client.RawPatch(types.MergePatchType, raw))
}

// floorVirtualService is what the operator makes for api (its route, labels and controller
// reference), under another name: the API server validates and stores the same.
func floorVirtualService(f floorWrites, api *odav1.ExposedAPI) *networkingv1.VirtualService {
	vs := &networkingv1.VirtualService{ObjectMeta: objectMeta(api.Namespace, f.name+"-"+api.Name)}
	vs.Labels = map[string]string{"bench-floor": f.name, odav1.ComponentNameLabel: api.Labels[odav1.ComponentNameLabel]}
	vs.OwnerReferences = []metav1.OwnerReference{{APIVersion: "oda.tmforum.org/v1", Kind: "ExposedAPI", Name: api.Name, UID: api.UID,
		Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}}
	vs.Spec.Hosts, vs.Spec.Gateways = []string{"*"}, []string{"component-gateway"}
	vs.Spec.Http = []*istioapi.HTTPRoute{{
		Match: []*istioapi.HTTPMatchRequest{{Uri: &istioapi.StringMatch{MatchType: &istioapi.StringMatch_Prefix{Prefix: api.Spec.Path}}}},
		Route: []*istioapi.HTTPRouteDestination{{Destination: &istioapi.Destination{Host: api.Spec.Implementation,
			Port: &istioapi.PortSelector{Number: uint32(api.Spec.Port)}}}},
	}}
	return vs
}

// floorStatus is the status the operator writes for such an API: the route, readiness and
// its four conditions, with the operator's messages (sameShape checks it after every
// operator run).
func floorStatus(api *odav1.ExposedAPI, vs *networkingv1.VirtualService) map[string]any {
	now := metav1.Now().UTC().Format(time.RFC3339)
	cond := func(t, reason, msg string) map[string]any {
		return map[string]any{"type": t, "status": "True", "reason": reason, "message": msg, "lastTransitionTime": now,
			"observedGeneration": api.Generation}
	}
	route := fmt.Sprintf("*%s on gateway component-gateway to %s:%d", api.Spec.Path, api.Spec.Implementation, api.Spec.Port)
	return map[string]any{
		"apiStatus": map[string]any{"name": vs.Name, "uid": string(vs.UID), "path": api.Spec.Path, "port": api.Spec.Port, "implementation": api.Spec.Implementation,
			"url": floorURL(api), "ip": "192.0.2.10"},
		"implementation": map[string]any{"ready": true},
		"conditions": []any{cond("Accepted", "Valid", "spec is valid and route "+route+" is free"),
			cond("Programmed", "VirtualServiceProgrammed", "VirtualService "+vs.Name+" is in place"),
			cond("Ready", "Ready", "reachable at its URL and the implementation is ready"),
			cond("PoliciesProgrammed", "NoPolicies", "the spec asks for no policy")},
	}
}

// sameShape is an error when the status the operator wrote for api differs from the
// floor's in its conditions or by more than a tenth in size: the floor must write what
// the operator writes.
func sameShape(api *odav1.ExposedAPI) error {
	vs := &networkingv1.VirtualService{ObjectMeta: metav1.ObjectMeta{Name: api.Status.APIStatus.Name, UID: types.UID(api.Status.APIStatus.UID)}}
	raw, _ := json.Marshal(floorStatus(api, vs))
	var floor odav1.ExposedAPIStatus
	if err := json.Unmarshal(raw, &floor); err != nil {
		return err
	}
	f, _ := json.Marshal(floor)
	o, _ := json.Marshal(api.Status)
	if conditionTypes(floor) != conditionTypes(api.Status) || math.Abs(float64(len(f)-len(o))) > float64(len(o))/10 {
		return fmt.Errorf("the floor writes a status of conditions %s and %d bytes, the operator %s and %d bytes (%s): make floorStatus the operator's",
			conditionTypes(floor), len(f), conditionTypes(api.Status), len(o), o)
	}
	return nil
}

func conditionTypes(s odav1.ExposedAPIStatus) string {
	var names []string
	for _, c := range s.Conditions {
		names = append(names, c.Type)
	}
	return strings.Join(names, ",")
}

func floorEvent(api *odav1.ExposedAPI, vs *networkingv1.VirtualService) *eventsv1.Event {
	// Named as client-go's recorder names them: the object's name and a timestamp.
	name := fmt.Sprintf("%s.%x", api.Name, time.Now().UnixNano())
	return &eventsv1.Event{ObjectMeta: metav1.ObjectMeta{Namespace: api.Namespace, Name: name},
		EventTime: metav1.NowMicro(), ReportingController: "bench/floor", ReportingInstance: "bench", Action: "Created",
		Reason: "VirtualServiceCreated", Type: corev1.EventTypeNormal, Note: "VirtualService " + vs.Name + " created",
		Regarding: corev1.ObjectReference{APIVersion: "oda.tmforum.org/v1", Kind: "ExposedAPI", Namespace: api.Namespace, Name: api.Name, UID: api.UID}}
}

// operatorProfile is the CPU profile of the operator that operatorRun keeps: secs seconds
// from after into its run, written to path; none when path is empty.
type operatorProfile struct {
	after time.Duration
	secs  int
	path  string
}

// profileFor is the operator's profile in a timed run at n: at the fairness size, 15 s of
// its converging middle; in the first round at --apiserver-profile's size, its whole share
// of the CPU beside the API server's profile of the same run (apiserverProfile); else none.
func profileFor(c config, n int, first bool) operatorProfile {
	switch {
	case n == c.fairnessN:
		return operatorProfile{after: 5 * time.Second, secs: 15, path: filepath.Join(c.root, "bin", "bench-cpu.pprof")}
	case first && n == c.apiserverProfileN:
		return operatorProfile{secs: c.apiserverProfileSecs, path: filepath.Join(c.root, "bin", fmt.Sprintf("bench-cpu-%d.pprof", n))}
	}
	return operatorProfile{}
}

// operatorRun starts the operator on ns with args and times it until convergence,
// recording the APIs converged over time and keeping prof.
func operatorRun(ctx context.Context, p *plane, c config, ns string, n int, progress *series, prof operatorProfile, args ...string) (convergence, error) {
	w, err := watch(ctx, p, ns)
	if err != nil {
		return convergence{}, err
	}
	defer w.stop()
	args = append([]string{"--namespaces", ns, "--enable-webhooks=false"}, args...)
	port, err := harness.NewPort()
	if err != nil {
		return convergence{}, err
	}
	pprof := fmt.Sprintf("127.0.0.1:%d", port)
	cpuBefore := readCPU()
	progress.start = time.Now()
	op, err := startOperator(c, p, append(args, "--pprof-bind-address", pprof)...)
	if err != nil {
		return convergence{}, err
	}
	defer op.stop()
	if prof.path != "" {
		go cpuProfile(pprof, prof.after, prof.secs, prof.path)
	}
	deadline := progress.start.Add(10 * time.Minute)
	var end time.Time
	for {
		polled := time.Now()
		apis, entries := w.converged()
		if apis == n && entries == (n+1)/2 {
			end = w.convergedAt(progress.start, polled)
			progress.add(end, float64(apis))
			break
		}
		progress.add(polled, float64(apis))
		select {
		case <-op.done:
			return convergence{}, fmt.Errorf("the operator exited: %v", op.cmd.ProcessState)
		default:
		}
		if time.Now().After(deadline) {
			return convergence{}, fmt.Errorf("%d ExposedAPIs did not converge in 10 minutes (%d did)", n, apis)
		}
		time.Sleep(100 * time.Millisecond)
	}
	res := convergence{n: n, operator: end.Sub(progress.start), operatorCPU: readCPU().since(cpuBefore)}
	if err := w.sameShape(ctx); err != nil {
		return res, err
	}
	reads, writes, err := op.requests()
	res.reads, res.writes = reads/float64(n), writes/float64(n)
	if err != nil {
		return res, err
	}
	if res.reconciles, err = op.reconciles(); err != nil {
		return res, err
	}
	say("N=%d: reconciles: %s", n, res.reconciles)
	if res.waits, err = op.waits(res.operator); err != nil {
		return res, err
	}
	res.firstAPI, res.allAPIs = progress.firstAbove(0), progress.firstAbove(float64(n-1))
	say("N=%d: first API after %s, all after %s; %s", n, secs(res.firstAPI), secs(res.allAPIs), res.waits)
	res.peakRSS, err = op.memory("VmHWM")
	return res, err
}

// cpuProfile keeps secs seconds of the operator's CPU profile from after into its run: where
// a converging operator spends its time.
func cpuProfile(addr string, after time.Duration, secs int, path string) {
	time.Sleep(after)
	// The operator opens its profiler a few milliseconds after it starts.
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := saveProfile(addr, fmt.Sprintf("profile?seconds=%d", secs), path)
		if err == nil {
			return
		}
		if !errors.Is(err, syscall.ECONNREFUSED) || time.Now().After(deadline) {
			say("CPU profile: %v", err)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}
