package metrics

import (
	"context"
	"fmt"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/api/v1/validation"
	"github.com/oda-canvas/api-operator-istio/controllers/exposedapi"
)

// +kubebuilder:rbac:groups=monitoring.coreos.com,resources=servicemonitors,verbs=list;watch;create;update;delete

// serviceMonitorSpec is R3.2's ServiceMonitor: the implementation Service's pods, scraped
// at the API's path and port every 15s, with the API's basicAuth.
func serviceMonitorSpec(spec *odav1.ExposedAPISpec) (monitoringv1.ServiceMonitorSpec, error) {
	ep := monitoringv1.Endpoint{
		Path:       spec.Path,
		TargetPort: ptr.To(intstr.FromInt32(spec.Port)),
		Interval:   "15s",
		Scheme:     ptr.To(monitoringv1.Scheme("http")),
	}
	if spec.BasicAuth != nil {
		ba, err := validation.BasicAuth(spec.BasicAuth.Raw)
		if err != nil {
			return monitoringv1.ServiceMonitorSpec{}, fmt.Errorf("spec.basicAuth is not a ServiceMonitor basicAuth: %w", err)
		}
		ep.BasicAuth = ba
	}
	return monitoringv1.ServiceMonitorSpec{
		Selector:  metav1.LabelSelector{MatchLabels: map[string]string{"name": spec.Implementation}},
		Endpoints: []monitoringv1.Endpoint{ep},
	}, nil
}

func (s *Scraper) ensureServiceMonitor(ctx context.Context, api *odav1.ExposedAPI, spec *odav1.ExposedAPISpec) (*metav1.Condition, error) {
	want, err := serviceMonitorSpec(spec)
	if err != nil {
		return cond(false, "InvalidBasicAuth", err.Error()), nil
	}
	if !s.ServiceMonitors.Served() {
		return crdMissing(), nil
	}
	sm := &monitoringv1.ServiceMonitor{}
	err = s.Client.Get(ctx, client.ObjectKeyFromObject(api), sm)
	switch {
	case meta.IsNoMatchError(err):
		return crdMissing(), nil
	case apierrors.IsNotFound(err):
		return s.createServiceMonitor(ctx, api, want)
	case err != nil:
		return nil, err
	case !ownedBy(sm, api):
		return cond(false, "ServiceMonitorNotOwned", exposedapi.NotControlled("ServiceMonitor", api)), nil
	}
	labels := exposedapi.ChildLabels(api)
	if !equality.Semantic.DeepEqual(sm.Spec, want) || !exposedapi.LabelsMatch(sm.Labels, labels) {
		sm = sm.DeepCopy()
		sm.Spec = want
		exposedapi.AddChildLabels(sm, api)
		if err := s.Client.Update(ctx, sm); err != nil {
			return nil, err
		}
	}
	return programmed(api), nil
}

func (s *Scraper) createServiceMonitor(ctx context.Context, api *odav1.ExposedAPI, want monitoringv1.ServiceMonitorSpec) (*metav1.Condition, error) {
	sm := &monitoringv1.ServiceMonitor{
		ObjectMeta: metav1.ObjectMeta{Name: api.Name, Namespace: api.Namespace, Labels: exposedapi.ChildLabels(api)},
		Spec:       want,
	}
	if err := controllerutil.SetControllerReference(api, sm, s.Client.Scheme()); err != nil {
		return nil, err
	}
	err := s.Client.Create(ctx, sm)
	if meta.IsNoMatchError(err) {
		return crdMissing(), nil
	}
	if err != nil {
		return nil, err
	}
	return programmed(api), nil
}

// deleteServiceMonitor removes the API's own ServiceMonitor, if the kind exists and it has
// one. Only the ServiceMonitor pattern looks (from its cache): the others remove them all
// at once, in RemoveServiceMonitors.
func (s *Scraper) deleteServiceMonitor(ctx context.Context, api *odav1.ExposedAPI) error {
	if s.Pattern != ServiceMonitor || !s.ServiceMonitors.Served() {
		return nil
	}
	sm := &monitoringv1.ServiceMonitor{}
	err := s.Client.Get(ctx, client.ObjectKeyFromObject(api), sm)
	if meta.IsNoMatchError(err) || apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil || !ownedBy(sm, api) {
		return err
	}
	return client.IgnoreNotFound(s.Client.Delete(ctx, sm, client.Preconditions{UID: &sm.UID}))
}

// RemoveServiceMonitors deletes every ServiceMonitor an ExposedAPI controls, for the
// annotation patterns: ours, and those the Python operator made (kopf.adopt made the
// ExposedAPI their controller, and they carry none of our labels), which would have the
// pods scraped twice. One list per watched namespace when the kind turns up (at start
// too), rather than a cache of every ServiceMonitor in the cluster or a lookup per
// reconcile. A kind no longer served (its CRD removed meanwhile) leaves none to remove.
func (s *Scraper) RemoveServiceMonitors(ctx context.Context) error {
	namespaces := s.Namespaces.Names()
	if namespaces == nil {
		namespaces = []string{metav1.NamespaceAll} // all, or patterns: filtered below
	}
	for _, ns := range namespaces {
		var list monitoringv1.ServiceMonitorList
		err := s.APIReader.List(ctx, &list, client.InNamespace(ns))
		if meta.IsNoMatchError(err) || apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		for i := range list.Items {
			sm := &list.Items[i]
			ref := metav1.GetControllerOf(sm)
			if ref == nil || ref.Kind != "ExposedAPI" || !strings.HasPrefix(ref.APIVersion, odav1.GroupVersion.Group+"/") ||
				!s.Namespaces.Matches(sm.Namespace) {
				continue
			}
			if err := s.Client.Delete(ctx, sm, client.Preconditions{UID: &sm.UID}); client.IgnoreNotFound(err) != nil {
				return err
			}
		}
	}
	return nil
}

func ownedBy(obj metav1.Object, api *odav1.ExposedAPI) bool {
	ref := metav1.GetControllerOf(obj)
	return ref != nil && ref.UID == api.UID
}

func crdMissing() *metav1.Condition {
	return cond(false, "ServiceMonitorCRDMissing",
		"the ServiceMonitor kind (monitoring.coreos.com/v1) is not installed: install the Prometheus Operator CRDs, or set OPENMETRICS_IMPLEMENTATION to PrometheusAnnotation or DataDogAnnotation; this API is set up as soon as the CRD appears")
}

func programmed(api *odav1.ExposedAPI) *metav1.Condition {
	return cond(true, "ServiceMonitorProgrammed", "ServiceMonitor "+api.Name+" selects the implementation Service")
}
