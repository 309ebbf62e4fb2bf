package metrics

import (
	"context"
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
	"github.com/oda-canvas/api-operator-istio/internal/index"
	slimmeta "github.com/oda-canvas/api-operator-istio/internal/slim"
)

// SetupIndexes registers the cache indexes the scraper looks up. An index on pods makes the
// cache hold every pod, so it is there only for the patterns that annotate pods.
func (s *Scraper) SetupIndexes(ctx context.Context, mgr ctrl.Manager) error {
	if s.cachesPods() {
		err := index.Add(ctx, mgr.GetCache(), &corev1.Pod{}, StateIndex, index.Namespaced, func(o client.Object) []string {
			return apiNames(o.(*corev1.Pod))
		})
		if err != nil {
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

// APIsOfPod maps a pod to the metrics APIs whose implementation Service selects it.
func (s *Scraper) APIsOfPod(ctx context.Context, o client.Object) []reconcile.Request {
	var apis odav1.ExposedAPIList
	if err := s.Client.List(ctx, &apis, client.InNamespace(o.GetNamespace()), client.MatchingFields{MetricsAPIIndex: "true"}); err != nil {
		return nil
	}
	var reqs []reconcile.Request
	onPod := apiNames(o.(*corev1.Pod))
	for i := range apis.Items {
		api := &apis.Items[i]
		if s.selects(ctx, api, o) || slices.Contains(onPod, api.Name) {
			reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(api)})
		}
	}
	return reqs
}

func (s *Scraper) selects(ctx context.Context, api *odav1.ExposedAPI, pod client.Object) bool {
	svc := &corev1.Service{}
	if s.Client.Get(ctx, client.ObjectKey{Namespace: api.Namespace, Name: api.Spec.Implementation}, svc) != nil {
		return false
	}
	return len(svc.Spec.Selector) > 0 && labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(pod.GetLabels()))
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
