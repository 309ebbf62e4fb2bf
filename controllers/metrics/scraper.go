// Package metrics makes Prometheus scrape the metrics APIs (apiType prometheus or
// openmetrics), by the pattern the operator is configured with: a ServiceMonitor, or
// annotations on every pod of the implementation Service (Prometheus or DataDog style).
//
// Switching pattern: whatever pattern is active, the forms of the other patterns that this
// operator made for an API are removed: annotations when the API is next reconciled (a
// restart reconciles them all), ServiceMonitors when the kind is found served (at start
// too). Pods that may carry our annotations are known from the API's finalizer and from
// the record each such pod carries (StateAnnotation).
package metrics

import (
	"cmp"
	"context"
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/controllers/crdwatch"
	"github.com/oda-canvas/api-operator-istio/internal/namespaces"
)

// Patterns (OPENMETRICS_IMPLEMENTATION values).
const (
	ServiceMonitor       = "ServiceMonitor"
	PrometheusAnnotation = "PrometheusAnnotation"
	DataDogAnnotation    = "DataDogAnnotation"
)

// ConditionScraping tells whether metrics scraping is set up for a metrics API.
const ConditionScraping = "Scraping"

// Finalizer is on a metrics API while pods may carry annotations it made.
const Finalizer = "oda.tmforum.org/metrics-annotations"

// StateIndex indexes pods by the names of the APIs in their StateAnnotation.
const StateIndex = "pod.metricsAPIs"

// MetricsAPIIndex indexes the ExposedAPIs that are metrics APIs.
const MetricsAPIIndex = "exposedapi.metrics"

// SelectorIndex indexes Services by one pair of their selector, "key=value".
const SelectorIndex = "service.selectorPair"

// Scraper is the ExposedAPI reconciler's extension for metrics APIs.
type Scraper struct {
	Client client.Client
	// APIReader lists pods directly. The ServiceMonitor pattern caches no pods (a cluster
	// has many); it reads them only to clean up after an annotation pattern, rarely.
	APIReader client.Reader
	Pattern   string
	// ServiceMonitors tells whether the ServiceMonitor kind is served, without a request.
	ServiceMonitors *crdwatch.KindServed
	// Namespaces are the namespaces served.
	Namespaces namespaces.Selector
}

// Name names the extension in errors.
func (s *Scraper) Name() string { return "metrics scraping" }

// ConditionType is the condition the extension reports.
func (s *Scraper) ConditionType() string { return ConditionScraping }

// IsMetricsAPI tells whether spec asks for scraping.
func IsMetricsAPI(spec *odav1.ExposedAPISpec) bool {
	return odav1.IsMetrics(spec.APIType)
}

// Ensure sets up scraping for a metrics API by the active pattern and removes what other
// patterns (or an earlier apiType) left. It returns nil for an API that is not a metrics API.
func (s *Scraper) Ensure(ctx context.Context, api *odav1.ExposedAPI, spec *odav1.ExposedAPISpec) (*metav1.Condition, error) {
	if !IsMetricsAPI(spec) {
		return nil, s.stop(ctx, api)
	}
	if s.Pattern != ServiceMonitor {
		return s.ensureAnnotations(ctx, api, spec)
	}
	if err := s.release(ctx, api); err != nil {
		return nil, err
	}
	return s.ensureServiceMonitor(ctx, api, spec)
}

// Withdraw stops scraping an API that is not accepted (its spec is invalid, or another API
// owns its route): what is not routed is not scraped, and pods it shared go to the other
// APIs or back to their own values. reason is the Accepted condition's.
func (s *Scraper) Withdraw(ctx context.Context, api *odav1.ExposedAPI, spec *odav1.ExposedAPISpec, reason string) (*metav1.Condition, error) {
	if err := s.stop(ctx, api); err != nil {
		return nil, err
	}
	if !IsMetricsAPI(spec) {
		return nil, nil
	}
	return cond(false, reason, "not scraped while the ExposedAPI is not accepted: see its Accepted condition"), nil
}

// stop removes the API's ServiceMonitor and takes it off the pods it annotated.
func (s *Scraper) stop(ctx context.Context, api *odav1.ExposedAPI) error {
	if err := s.deleteServiceMonitor(ctx, api); err != nil {
		return err
	}
	return s.release(ctx, api)
}

// Finalize releases the pods of an API being deleted, whether or not its children are
// orphaned: the pods are not its children.
func (s *Scraper) Finalize(ctx context.Context, api *odav1.ExposedAPI, _ bool) error {
	return s.release(ctx, api)
}

// release takes api off every pod that carries it (the pod then shows the remaining APIs,
// or its own values again), then removes the finalizer. It needs neither the Service nor
// the pods to exist any more. The pods are listed from the API server: the cache may not
// yet have seen the write that annotated a pod, and once the finalizer is gone nothing
// would take the API off that pod.
func (s *Scraper) release(ctx context.Context, api *odav1.ExposedAPI) error {
	if !controllerutil.ContainsFinalizer(api, Finalizer) {
		return nil
	}
	if err := s.cleanStale(ctx, api, nil, s.APIReader); err != nil {
		return err
	}
	return s.setFinalizer(ctx, api, false)
}

// markedPods are the pods whose record names api: from the cache's index when the pattern
// annotates pods (and so caches them) and direct is nil, else listed from direct, or from
// the API server.
func (s *Scraper) markedPods(ctx context.Context, api *odav1.ExposedAPI, direct client.Reader) ([]*corev1.Pod, error) {
	if !s.cachesPods() || direct != nil {
		return s.listMarked(ctx, api, cmp.Or(direct, s.APIReader))
	}
	var list corev1.PodList
	if err := s.Client.List(ctx, &list, client.InNamespace(api.Namespace), client.MatchingFields{StateIndex: api.Name}); err != nil {
		return nil, err
	}
	var out []*corev1.Pod
	for i := range list.Items {
		if slices.Contains(apiNames(&list.Items[i]), api.Name) {
			out = append(out, &list.Items[i])
		}
	}
	return out, nil
}

// listMarked lists the namespace's pods from r as metadata only: the record, and the
// annotations it edits, are metadata, and this runs once per API at each finalizer (all of
// them in the drain of a switch to ServiceMonitor), where whole pods cost the namespace's
// specs and statuses each time. The DataDog key names the pod's first container, so under
// that pattern they are listed whole (a get of each pod is not granted).
func (s *Scraper) listMarked(ctx context.Context, api *odav1.ExposedAPI, r client.Reader) ([]*corev1.Pod, error) {
	var pods []*corev1.Pod
	if s.Pattern == DataDogAnnotation {
		var list corev1.PodList
		if err := r.List(ctx, &list, client.InNamespace(api.Namespace)); err != nil {
			return nil, err
		}
		for i := range list.Items {
			pods = append(pods, &list.Items[i])
		}
	} else {
		list := &metav1.PartialObjectMetadataList{}
		list.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("PodList"))
		if err := r.List(ctx, list, client.InNamespace(api.Namespace)); err != nil {
			return nil, err
		}
		for i := range list.Items {
			pods = append(pods, &corev1.Pod{ObjectMeta: list.Items[i].ObjectMeta})
		}
	}
	return slices.DeleteFunc(pods, func(pod *corev1.Pod) bool { return !slices.Contains(apiNames(pod), api.Name) }), nil
}

func (s *Scraper) cachesPods() bool { return s.Pattern != ServiceMonitor }

func (s *Scraper) setFinalizer(ctx context.Context, api *odav1.ExposedAPI, on bool) error {
	if controllerutil.ContainsFinalizer(api, Finalizer) == on {
		return nil
	}
	patch := client.MergeFromWithOptions(api.DeepCopy(), client.MergeFromWithOptimisticLock{})
	if on {
		controllerutil.AddFinalizer(api, Finalizer)
	} else {
		controllerutil.RemoveFinalizer(api, Finalizer)
	}
	return s.Client.Patch(ctx, api, patch)
}

// refusals are the reasons of a False Scraping condition that a person has to act on; the
// others are waits (for pods) or repeat the Accepted condition's refusal.
var refusals = []string{"InvalidBasicAuth", "ServiceMonitorNotOwned", "ServiceMonitorCRDMissing", "PodsScrapedByAnotherAPI", ReasonPodRecordUnreadable}

// Refuses is exposedapi.Refuser: the refusals are recorded as Warning Events.
func (s *Scraper) Refuses(c *metav1.Condition) bool {
	return c.Type == ConditionScraping && slices.Contains(refusals, c.Reason)
}

func cond(ok bool, reason, msg string) *metav1.Condition {
	st := metav1.ConditionFalse
	if ok {
		st = metav1.ConditionTrue
	}
	return &metav1.Condition{Type: ConditionScraping, Status: st, Reason: reason, Message: msg}
}
