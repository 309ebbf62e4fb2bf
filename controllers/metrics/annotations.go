package metrics

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

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

// ensureAnnotations enters api on every pod selected by the implementation Service's full
// selector, and takes it off pods that no longer match.
func (s *Scraper) ensureAnnotations(ctx context.Context, api *odav1.ExposedAPI, spec *odav1.ExposedAPISpec) (*metav1.Condition, error) {
	if err := s.setFinalizer(ctx, api, true); err != nil {
		return nil, err
	}
	svc := &corev1.Service{}
	err := s.Client.Get(ctx, client.ObjectKey{Namespace: api.Namespace, Name: spec.Implementation}, svc)
	if apierrors.IsNotFound(err) || (err == nil && len(svc.Spec.Selector) == 0) {
		return cond(false, "ServiceHasNoPods", fmt.Sprintf(
			"Service %s does not exist or has no selector: no pods to annotate yet", spec.Implementation)), s.cleanStale(ctx, api, nil, nil)
	}
	if err != nil {
		return nil, err
	}
	var pods corev1.PodList
	if err := s.Client.List(ctx, &pods, client.InNamespace(api.Namespace), client.MatchingLabelsSelector{Selector: labels.SelectorFromSet(svc.Spec.Selector)}); err != nil {
		return nil, err
	}
	entry := apiEntry{Created: api.CreationTimestamp, Service: spec.Implementation, Path: spec.Path, Port: spec.Port}
	keep := map[types.UID]bool{}
	scrapedBy := map[string]int{} // for Prometheus: the other APIs whose path and port a pod shows
	var unreadable []string
	for i := range pods.Items {
		pod := &pods.Items[i]
		keep[pod.UID] = true
		st, err := s.updatePod(ctx, pod, func(st *podState) { st.APIs[api.Name] = entry })
		// One pod's record edited by hand must not stop the API's other pods, or its status.
		if bad := (*unreadableRecord)(nil); errors.As(err, &bad) {
			unreadable = append(unreadable, pod.Name)
			continue
		}
		if err != nil {
			return nil, err
		}
		// The pod shows the oldest API's path and port: this one is scraped too when they are its own.
		if first := st.ordered()[0]; s.Pattern == PrometheusAnnotation && first != api.Name && !sameTarget(st.APIs[first], entry) {
			scrapedBy[first]++
		}
	}
	if err := s.cleanStale(ctx, api, keep, nil); err != nil {
		return nil, err
	}
	if len(unreadable) > 0 {
		slices.Sort(unreadable) // the cache lists in no order: the same pods, the same message
		return cond(false, ReasonPodRecordUnreadable, fmt.Sprintf(
			"%d of %d pod(s) of Service %s carry an annotation %s that is not the operator's record (edited by hand?): %s, left as they are and "+
				"not annotated, since the operator cannot tell which of their annotations are its own; remove that annotation (and any prometheus.io "+
				"or DataDog annotations it made) and the pod is annotated again",
			len(unreadable), len(pods.Items), spec.Implementation, StateAnnotation, strings.Join(unreadable, ", "))), nil
	}
	if len(pods.Items) == 0 {
		return cond(false, "ServiceHasNoPods", fmt.Sprintf(
			"Service %s selects no pods: none to annotate yet; each one it selects is annotated as it comes", spec.Implementation)), nil
	}
	return annotatedCondition(s.Pattern, spec.Implementation, len(pods.Items), scrapedBy), nil
}

func sameTarget(a, b apiEntry) bool { return a.Path == b.Path && a.Port == b.Port }

// ReasonPodRecordUnreadable: a pod of the API's Service carries a record the operator cannot read.
const ReasonPodRecordUnreadable = "PodRecordUnreadable"

func annotatedCondition(pattern, svc string, pods int, scrapedBy map[string]int) *metav1.Condition {
	if len(scrapedBy) == 0 {
		return cond(true, "PodsAnnotated", fmt.Sprintf("%d pod(s) of Service %s carry the %s annotations", pods, svc, pattern))
	}
	lost, names := 0, make([]string, 0, len(scrapedBy))
	for name, n := range scrapedBy {
		lost += n
		names = append(names, name)
	}
	slices.Sort(names)
	return cond(false, "PodsScrapedByAnotherAPI", fmt.Sprintf(
		"%d of %d pod(s) of Service %s are scraped at the path and port of ExposedAPI %s: a pod has one prometheus.io/path and port, "+
			"and the oldest metrics API selecting it has them; this API takes over when that one goes",
		lost, pods, svc, strings.Join(names, ", ")))
}

// cleanStale takes api off the pods that carry it and are not in keep; direct, when not
// nil, lists them instead of the cache.
func (s *Scraper) cleanStale(ctx context.Context, api *odav1.ExposedAPI, keep map[types.UID]bool, direct client.Reader) error {
	marked, err := s.markedPods(ctx, api, direct)
	if err != nil {
		return err
	}
	for _, pod := range marked {
		if !keep[pod.UID] {
			if _, err := s.updatePod(ctx, pod, func(st *podState) { delete(st.APIs, api.Name) }); err != nil {
				return err
			}
		}
	}
	return nil
}

// updatePod applies edit to the pod's record and merge-patches the keys that change as a
// result, and only those. The patch carries the resourceVersion the record was read at, so
// that two APIs entering one pod at once cannot lose each other's entry; the loser of
// that race gets a conflict and is reconciled again.
func (s *Scraper) updatePod(ctx context.Context, pod *corev1.Pod, edit func(*podState)) (*podState, error) {
	st, err := readState(pod)
	if err != nil {
		return nil, err
	}
	edit(st)
	want, err := s.wanted(st, pod)
	if err != nil {
		return nil, err
	}
	edits := st.changes(pod.Annotations, want)
	record, err := st.encode()
	if err != nil {
		return nil, err
	}
	if old := pod.Annotations[StateAnnotation]; record != old {
		edits[StateAnnotation] = record
		if record == "" {
			edits[StateAnnotation] = nil
		}
	}
	if len(edits) == 0 {
		return st, nil
	}
	raw, err := json.Marshal(map[string]any{"metadata": map[string]any{"resourceVersion": pod.ResourceVersion, "annotations": edits}})
	if err != nil {
		return nil, err
	}
	err = s.Client.Patch(ctx, pod.DeepCopy(), client.RawPatch(types.MergePatchType, raw))
	return st, client.IgnoreNotFound(err)
}
