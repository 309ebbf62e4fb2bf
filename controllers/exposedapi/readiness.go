package exposedapi

import (
	"context"

	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	slimmeta "github.com/oda-canvas/api-operator-istio/internal/slim"
)

// ServiceNameIndex indexes EndpointSlices by the Service they belong to.
const ServiceNameIndex = "endpointslice.serviceName"

// implementationReady tells whether any endpoint of the Service service in namespace is
// ready. A nil ready condition means ready, as the EndpointSlice API defines it.
func (r *Reconciler) implementationReady(ctx context.Context, namespace, service string) (bool, error) {
	var slices discoveryv1.EndpointSliceList
	if err := r.Client.List(ctx, &slices, client.InNamespace(namespace), client.MatchingFields{ServiceNameIndex: service}); err != nil {
		return false, err
	}
	for i := range slices.Items {
		if anyReady(&slices.Items[i]) {
			return true, nil
		}
	}
	return false, nil
}

func anyReady(s *discoveryv1.EndpointSlice) bool {
	for _, ep := range s.Endpoints {
		if ep.Conditions.Ready == nil || *ep.Conditions.Ready {
			return true
		}
	}
	return false
}

// SlimEndpointSlice keeps what readiness reads of a slice: its Service (the service-name
// label) and whether any endpoint is ready, as one endpoint. Slices are many and change
// often; the cache holds them all.
func SlimEndpointSlice(obj any) (any, error) {
	s, ok := obj.(*discoveryv1.EndpointSlice)
	if !ok {
		return obj, nil
	}
	slim := &discoveryv1.EndpointSlice{TypeMeta: s.TypeMeta, ObjectMeta: slimmeta.Meta(s), AddressType: s.AddressType}
	slim.Labels = s.Labels
	if anyReady(s) {
		slim.Endpoints = []discoveryv1.Endpoint{{Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}}
	}
	return slim, nil
}

func indexServiceName(o client.Object) []string {
	if name := o.GetLabels()[discoveryv1.LabelServiceName]; name != "" {
		return []string{name}
	}
	return nil
}

// readinessChanged drops slice updates that leave the slice's readiness as it was: slices
// change on every pod event, and most of those changes do not matter here.
func readinessChanged() predicate.Predicate {
	return predicate.Funcs{
		UpdateFunc: func(e event.UpdateEvent) bool {
			o, ok1 := e.ObjectOld.(*discoveryv1.EndpointSlice)
			n, ok2 := e.ObjectNew.(*discoveryv1.EndpointSlice)
			return !ok1 || !ok2 || anyReady(o) != anyReady(n) ||
				o.Labels[discoveryv1.LabelServiceName] != n.Labels[discoveryv1.LabelServiceName]
		},
	}
}
