package metrics

import (
	"context"
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
)

// +kubebuilder:rbac:groups="",resources=pods,verbs=list;watch;patch

// Prometheus annotation keys.
const (
	PrometheusScrape = "prometheus.io/scrape"
	PrometheusPath   = "prometheus.io/path"
	PrometheusPort   = "prometheus.io/port"
)

// wantedAnnotations are the annotations the active pattern puts on one pod of svc.
func (s *Scraper) wantedAnnotations(api *odav1.ExposedAPI, spec *odav1.ExposedAPISpec, pod *corev1.Pod) (map[string]string, error) {
	want := map[string]string{MarkerAnnotation: api.Name}
	if s.Pattern == PrometheusAnnotation {
		want[PrometheusScrape] = "true"
		want[PrometheusPath] = spec.Path
		want[PrometheusPort] = fmt.Sprint(spec.Port)
		return want, nil
	}
	if len(pod.Spec.Containers) == 0 {
		return want, nil
	}
	v, err := json.Marshal(dataDogChecks{OpenMetrics: dataDogOpenMetrics{Instances: []dataDogInstance{{
		Endpoint:  fmt.Sprintf("http://%s.%s.svc.cluster.local:%d%s", spec.Implementation, api.Namespace, spec.Port, spec.Path),
		Namespace: api.Namespace,
		Metrics:   []string{".*"},
	}}}})
	want[dataDogKey(pod)] = string(v)
	return want, err
}

type dataDogChecks struct {
	OpenMetrics dataDogOpenMetrics `json:"openmetrics"`
}

type dataDogOpenMetrics struct {
	Instances []dataDogInstance `json:"instances"`
}

type dataDogInstance struct {
	Endpoint  string   `json:"openmetrics_endpoint"`
	Namespace string   `json:"namespace"`
	Metrics   []string `json:"metrics"`
}

// dataDogKey names the pod's first container, as the reference did.
func dataDogKey(pod *corev1.Pod) string {
	if len(pod.Spec.Containers) == 0 {
		return ""
	}
	return "ad.datadoghq.com/" + pod.Spec.Containers[0].Name + ".checks"
}

// ensureAnnotations annotates every pod selected by the implementation Service's full
// selector, and takes our annotations off pods that no longer match.
func (s *Scraper) ensureAnnotations(ctx context.Context, api *odav1.ExposedAPI, spec *odav1.ExposedAPISpec) (*metav1.Condition, error) {
	if err := s.setFinalizer(ctx, api, true); err != nil {
		return nil, err
	}
	svc := &corev1.Service{}
	err := s.Client.Get(ctx, client.ObjectKey{Namespace: api.Namespace, Name: spec.Implementation}, svc)
	if apierrors.IsNotFound(err) || (err == nil && len(svc.Spec.Selector) == 0) {
		return cond(false, "ServiceHasNoPods", fmt.Sprintf(
			"Service %s does not exist or has no selector: no pods to annotate yet", spec.Implementation)), s.cleanStale(ctx, api, nil)
	}
	if err != nil {
		return nil, err
	}
	var pods corev1.PodList
	if err := s.Client.List(ctx, &pods, client.InNamespace(api.Namespace), client.MatchingLabelsSelector{Selector: labels.SelectorFromSet(svc.Spec.Selector)}); err != nil {
		return nil, err
	}
	keep := map[types.UID]bool{}
	for i := range pods.Items {
		pod := &pods.Items[i]
		keep[pod.UID] = true
		want, err := s.wantedAnnotations(api, spec, pod)
		if err != nil {
			return nil, err
		}
		if err := s.annotate(ctx, pod, want); err != nil {
			return nil, err
		}
	}
	if err := s.cleanStale(ctx, api, keep); err != nil {
		return nil, err
	}
	return cond(true, "PodsAnnotated", fmt.Sprintf("%d pod(s) of Service %s carry the %s annotations", len(pods.Items), spec.Implementation, s.Pattern)), nil
}

// cleanStale takes our annotations off the pods marked for api that are not in keep.
func (s *Scraper) cleanStale(ctx context.Context, api *odav1.ExposedAPI, keep map[types.UID]bool) error {
	marked, err := s.markedPods(ctx, api)
	if err != nil {
		return err
	}
	for _, pod := range marked {
		if !keep[pod.UID] {
			if err := s.unannotate(ctx, pod); err != nil {
				return err
			}
		}
	}
	return nil
}

// annotate merge-patches only the keys that differ; the rest of the pod is never touched.
func (s *Scraper) annotate(ctx context.Context, pod *corev1.Pod, want map[string]string) error {
	changes := map[string]any{}
	for k, v := range want {
		if pod.Annotations[k] != v {
			changes[k] = v
		}
	}
	for _, k := range ownedKeys(pod) {
		if _, ok := want[k]; !ok {
			changes[k] = nil // a key of the other pattern, or of a renamed container
		}
	}
	return s.patchAnnotations(ctx, pod, changes)
}

func (s *Scraper) unannotate(ctx context.Context, pod *corev1.Pod) error {
	changes := map[string]any{}
	for _, k := range ownedKeys(pod) {
		changes[k] = nil
	}
	return s.patchAnnotations(ctx, pod, changes)
}

// ownedKeys are the annotation keys of ours the pod carries.
func ownedKeys(pod *corev1.Pod) []string {
	if _, marked := pod.Annotations[MarkerAnnotation]; !marked {
		return nil
	}
	var keys []string
	for _, k := range []string{MarkerAnnotation, PrometheusScrape, PrometheusPath, PrometheusPort, dataDogKey(pod)} {
		if _, ok := pod.Annotations[k]; ok && k != "" {
			keys = append(keys, k)
		}
	}
	return keys
}

func (s *Scraper) patchAnnotations(ctx context.Context, pod *corev1.Pod, changes map[string]any) error {
	if len(changes) == 0 {
		return nil
	}
	raw, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": changes}})
	if err != nil {
		return err
	}
	err = s.Client.Patch(ctx, pod.DeepCopy(), client.RawPatch(types.MergePatchType, raw))
	return client.IgnoreNotFound(err)
}
