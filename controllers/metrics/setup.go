package metrics

import (
	"context"
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/labels"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/controllers/exposedapi"
	"github.com/oda-canvas/api-operator-istio/internal/index"
	slimmeta "github.com/oda-canvas/api-operator-istio/internal/slim"
)

// SetupIndexes registers the cache indexes the scraper looks up. An index on pods makes the
// cache hold every pod, so the pod and Service indexes are there only for the patterns that
// annotate pods.
func (s *Scraper) SetupIndexes(ctx context.Context, mgr ctrl.Manager) error {
	c := mgr.GetCache()
	if s.cachesPods() {
		err := index.Add(ctx, c, &corev1.Pod{}, StateIndex, index.Namespaced, func(o client.Object) []string {
			return apiNames(o.(*corev1.Pod))
		})
		if err != nil {
			return err
		}
		if err := index.Add(ctx, c, &corev1.Service{}, SelectorIndex, index.Namespaced, selectorPair); err != nil {
			return err
		}
	}
	// Looked up in a namespace and across them: both key forms.
	return mgr.GetFieldIndexer().IndexField(ctx, &odav1.ExposedAPI{}, MetricsAPIIndex, func(o client.Object) []string {
		if IsMetricsAPI(&o.(*odav1.ExposedAPI).Spec) {
			return []string{"true"}
		}
		return nil
	})
}

// selectorPair is the one selector pair, "key=value", a Service is indexed by. Any one
// finds it, since a pod the Service selects carries every pair; one per Service keeps the
// index to a key per Service and each Service a pod's candidate once. The longest value is
// taken as the likeliest to name the component rather than a pair its Services share (a
// tier), which keeps a pod's candidates few. A Service without a selector selects no pods.
func selectorPair(o client.Object) []string {
	sel := o.(*corev1.Service).Spec.Selector
	if len(sel) == 0 {
		return nil
	}
	// In key order, so that a Service is always indexed by the same pair.
	keys := slices.Sorted(maps.Keys(sel))
	best := keys[0]
	for _, k := range keys[1:] {
		if len(sel[k]) > len(sel[best]) {
			best = k
		}
	}
	return []string{best + "=" + sel[best]}
}

// SlimPod keeps what the scraper reads of a pod (labels, annotations, the first
// container's name): a cluster's pods are many, and this cache holds them all.
func SlimPod(obj any) (any, error) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return obj, nil
	}
	slim := &corev1.Pod{TypeMeta: pod.TypeMeta, ObjectMeta: slimmeta.Meta(pod)}
	slim.Labels, slim.Annotations = pod.Labels, pod.Annotations
	if len(pod.Spec.Containers) > 0 {
		slim.Spec.Containers = []corev1.Container{{Name: pod.Spec.Containers[0].Name}}
	}
	return slim, nil
}

// SlimService keeps what the scraper reads of a Service: which pods it selects. A
// cluster's Services are many and the pod-annotation patterns cache them all; the ingress
// gateway's are read whole, from their own cache.
func SlimService(obj any) (any, error) {
	svc, ok := obj.(*corev1.Service)
	if !ok {
		return obj, nil
	}
	slim := &corev1.Service{TypeMeta: svc.TypeMeta, ObjectMeta: slimmeta.Meta(svc)}
	slim.Spec.Selector = svc.Spec.Selector
	return slim, nil
}

// APIsOfPod maps a pod to the metrics APIs whose implementation Service selects it, and to
// those its record names. It runs for every pod at each start, before any ExposedAPI is
// reconciled, and at every change of a pod's labels or annotations: it reads the Services
// its labels may match and the APIs of those, not every metrics API of the namespace.
func (s *Scraper) APIsOfPod(ctx context.Context, o client.Object) []reconcile.Request {
	pod := o.(*corev1.Pod)
	woken := map[string]bool{}
	for _, svc := range s.servicesSelecting(ctx, pod) {
		var apis odav1.ExposedAPIList
		// Only names and types are read, so the cache's objects need not be copied.
		if err := s.Client.List(ctx, &apis, client.InNamespace(pod.Namespace),
			client.MatchingFields{exposedapi.ImplementationIndex: svc}, client.UnsafeDisableDeepCopy); err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "listing the ExposedAPIs of a Service from the cache")
			continue
		}
		for i := range apis.Items {
			if IsMetricsAPI(&apis.Items[i].Spec) {
				woken[apis.Items[i].Name] = true
			}
		}
	}
	for _, name := range apiNames(pod) {
		if !woken[name] && s.isMetricsAPI(ctx, pod.Namespace, name) {
			woken[name] = true
		}
	}
	reqs := make([]reconcile.Request, 0, len(woken))
	for name := range woken {
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKey{Namespace: pod.Namespace, Name: name}})
	}
	return reqs
}

// servicesSelecting names the Services of the pod's namespace whose selector matches its
// labels: the candidates are those indexed by one of its labels.
func (s *Scraper) servicesSelecting(ctx context.Context, pod *corev1.Pod) []string {
	var out []string
	for k, v := range pod.Labels {
		var svcs corev1.ServiceList
		if err := s.Client.List(ctx, &svcs, client.InNamespace(pod.Namespace),
			client.MatchingFields{SelectorIndex: k + "=" + v}, client.UnsafeDisableDeepCopy); err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "listing the Services that may select a pod from the cache")
			continue
		}
		for i := range svcs.Items {
			if labels.SelectorFromSet(svcs.Items[i].Spec.Selector).Matches(labels.Set(pod.Labels)) {
				out = append(out, svcs.Items[i].Name)
			}
		}
	}
	return out
}

// isMetricsAPI tells whether the namespace holds a metrics API of that name.
func (s *Scraper) isMetricsAPI(ctx context.Context, ns, name string) bool {
	api := &odav1.ExposedAPI{}
	return s.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, api) == nil && IsMetricsAPI(&api.Spec)
}

// PodChanged lets through pod events that can change what the scraper writes: the
// deletion of a pod that an API annotated changes that API's count of pods.
func PodChanged() predicate.Predicate {
	return predicate.Funcs{
		UpdateFunc: func(e event.UpdateEvent) bool {
			return !equality.Semantic.DeepEqual(e.ObjectOld.GetLabels(), e.ObjectNew.GetLabels()) ||
				!equality.Semantic.DeepEqual(e.ObjectOld.GetAnnotations(), e.ObjectNew.GetAnnotations())
		},
		DeleteFunc: func(e event.DeleteEvent) bool {
			pod, ok := e.Object.(*corev1.Pod)
			return ok && len(apiNames(pod)) > 0
		},
	}
}

// MetricsAPIs lists the metrics APIs, e.g. to set them up once the ServiceMonitor CRD
// appears.
func (s *Scraper) MetricsAPIs(ctx context.Context) []client.Object {
	var apis odav1.ExposedAPIList
	if err := s.Client.List(ctx, &apis, client.MatchingFields{MetricsAPIIndex: "true"}); err != nil {
		return nil
	}
	out := make([]client.Object, len(apis.Items))
	for i := range apis.Items {
		out[i] = &apis.Items[i]
	}
	return out
}
