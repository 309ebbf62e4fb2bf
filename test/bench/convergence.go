package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/internal/app"
)

// convergence is one size's figures.
type convergence struct {
	n                 int
	operator, floor   time.Duration
	reads, writes     float64 // per ExposedAPI
	floorWritesPerAPI float64
}

func objectMeta(ns, name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: ns, Name: name}
}

// fixtures makes n implementation Services with a ready EndpointSlice, n ExposedAPIs (half
// owned by one Component) and the Component's entries for them.
func fixtures(ctx context.Context, p *plane, ns string, n int) ([]*odav1.ExposedAPI, error) {
	if err := p.namespace(ctx, ns); err != nil {
		return nil, err
	}
	comp := &odav1.Component{ObjectMeta: objectMeta(ns, "shop")}
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
		api.Labels = map[string]string{odav1.ComponentNameLabel: "shop"}
		if i%2 == 0 {
			api.OwnerReferences = []metav1.OwnerReference{{APIVersion: "oda.tmforum.org/v1", Kind: "Component", Name: "shop", UID: comp.UID}}
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
	var entries []any
	for i := 0; i < n; i += 2 {
		entries = append(entries, map[string]any{"name": apis[i].Name, "uid": string(apis[i].UID)})
	}
	raw, _ := json.Marshal(map[string]any{"status": map[string]any{"coreAPIs": entries}})
	return apis, p.admin.Status().Patch(ctx, comp, client.RawPatch(types.MergePatchType, raw))
}

// floor is a plain client doing only the minimum writes: one VirtualService create and one
// status write per ExposedAPI, at the same QPS and burst as the operator.
func floor(ctx context.Context, p *plane, c config, apis []*odav1.ExposedAPI) (time.Duration, error) {
	cfg := rest.CopyConfig(p.env.Config)
	cfg.QPS, cfg.Burst = float32(c.qps), c.burst
	cl, err := client.New(cfg, client.Options{Scheme: app.Scheme()})
	if err != nil {
		return 0, err
	}
	start := time.Now()
	err = parallel(len(apis), 16, func(i int) error {
		api := apis[i]
		vs := &networkingv1.VirtualService{ObjectMeta: objectMeta(api.Namespace, "floor-"+api.Name)}
		vs.Spec.Hosts, vs.Spec.Gateways = []string{"*"}, []string{"component-gateway"}
		if err := cl.Create(ctx, vs); err != nil {
			return err
		}
		raw, _ := json.Marshal(map[string]any{"status": map[string]any{"implementation": map[string]any{"ready": false}}})
		return cl.Status().Patch(ctx, api.DeepCopy(), client.RawPatch(types.MergePatchType, raw))
	})
	return time.Since(start), err
}

// watcher sees the namespace through a cache, so that watching for convergence costs the
// API server nothing but a watch.
type watcher struct {
	cache cache.Cache
	stop  context.CancelFunc
}

func watch(ctx context.Context, p *plane, ns string) (*watcher, error) {
	c, err := cache.New(p.env.Config, cache.Options{Scheme: app.Scheme(), DefaultNamespaces: map[string]cache.Config{ns: {}}})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	for _, o := range []client.Object{&odav1.ExposedAPI{}, &networkingv1.VirtualService{}, &odav1.Component{}} {
		if _, err := c.GetInformer(ctx, o); err != nil {
			cancel()
			return nil, err
		}
	}
	go func() { _ = c.Start(ctx) }()
	c.WaitForCacheSync(ctx)
	return &watcher{cache: c, stop: cancel}, nil
}

// converged: every API has its VirtualService, URL and ready=true, and every Component
// entry has its URL and ready.
func (w *watcher) converged(ctx context.Context, n int) bool {
	var apis odav1.ExposedAPIList
	var vss networkingv1.VirtualServiceList
	var comps odav1.ComponentList
	if w.cache.List(ctx, &apis) != nil || w.cache.List(ctx, &vss) != nil || w.cache.List(ctx, &comps) != nil {
		return false
	}
	routed := map[string]bool{}
	for _, vs := range vss.Items {
		routed[vs.Name] = true
	}
	done := 0
	for _, a := range apis.Items {
		s := a.Status
		if routed[a.Name] && s.APIStatus != nil && s.APIStatus.URL != "" && s.Implementation != nil && s.Implementation.Ready {
			done++
		}
	}
	entries := 0
	for _, c := range comps.Items {
		for _, e := range c.Status.CoreAPIs {
			if e.URL != "" && e.Ready {
				entries++
			}
		}
	}
	return done == n && entries == (n+1)/2
}

// operatorRun starts the operator on ns and times it until convergence.
func operatorRun(ctx context.Context, p *plane, c config, ns string, n int) (convergence, error) {
	w, err := watch(ctx, p, ns)
	if err != nil {
		return convergence{}, err
	}
	defer w.stop()
	start := time.Now()
	op, err := startOperator(c, p, "--namespaces", ns, "--enable-webhooks=false")
	if err != nil {
		return convergence{}, err
	}
	defer op.stop()
	deadline := start.Add(10 * time.Minute)
	for !w.converged(ctx, n) {
		select {
		case <-op.done:
			return convergence{}, fmt.Errorf("the operator exited: %v", op.cmd.ProcessState)
		default:
		}
		if time.Now().After(deadline) {
			return convergence{}, fmt.Errorf("%d ExposedAPIs did not converge in 10 minutes", n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	res := convergence{n: n, operator: time.Since(start)}
	reads, writes, err := op.requests()
	res.reads, res.writes = reads/float64(n), writes/float64(n)
	return res, err
}
