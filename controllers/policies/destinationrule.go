package policies

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"
	istioapi "istio.io/api/networking/v1alpha3"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/controllers/exposedapi"
	"github.com/oda-canvas/api-operator-istio/internal/policy"
)

// +kubebuilder:rbac:groups=networking.istio.io,resources=destinationrules,verbs=get;list;watch;create;update;delete

// destinationRuleSpec gives the implementation ports of the API and of every other
// long-lived API of its Service the connection pool of a long-lived API, or is nil for an
// API that does not stream. Port-level, so that other ports of the Service keep their
// settings. Each such API has its own DestinationRule for the Service, and Istio takes the
// traffic policy of the oldest alone (pilot's mergeDestinationRule merges subsets only):
// each holds the ports of all, so that the one Istio takes covers every API's.
func (e *Extension) destinationRuleSpec(ctx context.Context, api *odav1.ExposedAPI, spec *odav1.ExposedAPISpec) (*istioapi.DestinationRule, error) {
	tp := e.Settings.Streams.TrafficPolicy(spec)
	if tp == nil {
		return nil, nil
	}
	ports, err := e.streamPorts(ctx, api, spec)
	if err != nil {
		return nil, err
	}
	dr := &istioapi.DestinationRule{Host: spec.Implementation, TrafficPolicy: &istioapi.TrafficPolicy{}}
	for _, port := range ports {
		dr.TrafficPolicy.PortLevelSettings = append(dr.TrafficPolicy.PortLevelSettings, &istioapi.TrafficPolicy_PortTrafficPolicy{
			Port:           &istioapi.PortSelector{Number: port},
			ConnectionPool: tp.ConnectionPool,
		})
	}
	return dr, nil
}

// streamPorts are the implementation ports of the API and of the other long-lived APIs of
// its Service, in order, each once.
func (e *Extension) streamPorts(ctx context.Context, api *odav1.ExposedAPI, spec *odav1.ExposedAPISpec) ([]uint32, error) {
	var list odav1.ExposedAPIList
	if err := e.Client.List(ctx, &list, client.InNamespace(api.Namespace), client.UnsafeDisableDeepCopy,
		client.MatchingFields{exposedapi.ImplementationIndex: spec.Implementation}); err != nil {
		return nil, err
	}
	ports := []uint32{uint32(spec.Port)}
	for i := range list.Items {
		other := &list.Items[i]
		if other.UID != api.UID && other.DeletionTimestamp == nil && streams(other.Spec) {
			ports = append(ports, uint32(other.Spec.Port))
		}
	}
	slices.Sort(ports)
	return slices.Compact(ports), nil
}

// streams tells whether a spec as stored asks for a long-lived API's connection pool on a
// port that can hold one.
func streams(spec odav1.ExposedAPISpec) bool {
	spec.APIType = strings.ToLower(spec.APIType)
	return policy.Streams(&spec) && spec.Port >= 1 && spec.Port <= 65535
}

// ensureDestinationRule creates, updates or deletes the API's DestinationRule and says
// what is in force, or nil when the spec needs none.
func (e *Extension) ensureDestinationRule(ctx context.Context, api *odav1.ExposedAPI, spec *odav1.ExposedAPISpec) (*finding, error) {
	want, err := e.destinationRuleSpec(ctx, api, spec)
	if err != nil {
		return nil, err
	}
	if want == nil {
		return nil, e.deleteDestinationRule(ctx, api)
	}
	dr := &networkingv1.DestinationRule{}
	err = e.Client.Get(ctx, client.ObjectKeyFromObject(api), dr)
	if apierrors.IsNotFound(err) && exposedapi.WasNotControlled(api, "DestinationRule") {
		err = e.APIReader.Get(ctx, client.ObjectKeyFromObject(api), dr)
	}
	switch {
	case apierrors.IsNotFound(err):
		err = e.createDestinationRule(ctx, api, want)
		if !apierrors.IsAlreadyExists(err) {
			break
		}
		// The cache holds labelled DestinationRules only: this one is another owner's, or
		// ours with its label taken off.
		if err = e.APIReader.Get(ctx, client.ObjectKeyFromObject(api), dr); err != nil {
			return nil, err
		}
		if !exposedapi.OwnedBy(dr, api.UID) {
			return foreignDestinationRule(api), nil
		}
		err = e.updateDestinationRule(ctx, api, dr, want)
	case err != nil:
		return nil, err
	case !exposedapi.OwnedBy(dr, api.UID):
		return foreignDestinationRule(api), nil
	default:
		err = e.updateDestinationRule(ctx, api, dr, want)
	}
	if err != nil {
		return nil, err
	}
	return streamFinding(true, fmt.Sprintf("DestinationRule %s: connect timeout %s, idle timeout %s",
		api.Name, e.Settings.Streams.ConnectTimeout, e.Settings.Streams.IdleTimeout)), nil
}

func (e *Extension) createDestinationRule(ctx context.Context, api *odav1.ExposedAPI, want *istioapi.DestinationRule) error {
	dr := &networkingv1.DestinationRule{ObjectMeta: metav1.ObjectMeta{Name: api.Name, Namespace: api.Namespace, Labels: exposedapi.ChildLabels(api)}}
	want.DeepCopyInto(&dr.Spec)
	if err := controllerutil.SetControllerReference(api, dr, e.Client.Scheme()); err != nil {
		return err
	}
	return e.Client.Create(ctx, dr)
}

// updateDestinationRule writes want and the API's labels on dr, if either is missing.
func (e *Extension) updateDestinationRule(ctx context.Context, api *odav1.ExposedAPI, dr *networkingv1.DestinationRule, want *istioapi.DestinationRule) error {
	if proto.Equal(&dr.Spec, want) && exposedapi.LabelsMatch(dr.Labels, exposedapi.ChildLabels(api)) {
		return nil
	}
	dr = dr.DeepCopy()
	want.DeepCopyInto(&dr.Spec)
	exposedapi.AddChildLabels(dr, api)
	return e.Client.Update(ctx, dr)
}

// streamOnGateway is f, not enforced when the API's route is on a Gateway of another
// implementation than Istio's, whose proxies alone read a DestinationRule: it stays, for the
// callers inside the mesh.
func (e *Extension) streamOnGateway(ctx context.Context, api *odav1.ExposedAPI, f *finding) (*finding, error) {
	if e.Kubernetes == nil || f == nil || !f.Enforced {
		return f, nil
	}
	gw, err := e.Kubernetes.Gateway(ctx, api.Namespace)
	if err != nil || gw == nil {
		return f, err
	}
	class, err := e.Kubernetes.GatewayClass(ctx, gw.Spec.GatewayClassName)
	if err != nil || class == nil || class.Spec.ControllerName == IstioGatewayController {
		return f, err
	}
	return streamFinding(false, fmt.Sprintf("%s, for callers inside the mesh only: Gateway %s/%s is of GatewayClass %s, implemented by %s, which does not read it",
		f.Detail, gw.Namespace, gw.Name, class.Name, class.Spec.ControllerName)), nil
}

func foreignDestinationRule(api *odav1.ExposedAPI) *finding {
	return streamFinding(false, exposedapi.NotControlled("DestinationRule", api))
}

func (e *Extension) deleteDestinationRule(ctx context.Context, api *odav1.ExposedAPI) error {
	dr := &networkingv1.DestinationRule{}
	err := e.Client.Get(ctx, client.ObjectKeyFromObject(api), dr)
	if err != nil || !exposedapi.OwnedBy(dr, api.UID) {
		return client.IgnoreNotFound(err)
	}
	return client.IgnoreNotFound(e.Client.Delete(ctx, dr, client.Preconditions{UID: &dr.UID}))
}

func streamFinding(ok bool, detail string) *finding {
	return &finding{Field: "spec.apiType mcp", Enforced: ok, Detail: detail}
}
