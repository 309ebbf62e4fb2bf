package httproute

import (
	"strings"

	"k8s.io/apimachinery/pkg/api/equality"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// GatewayChanged lets through only the Gateway updates that can change an API's URL.
func GatewayChanged() predicate.TypedPredicate[*gatewayv1.Gateway] {
	return predicate.TypedFuncs[*gatewayv1.Gateway]{
		UpdateFunc: func(e event.TypedUpdateEvent[*gatewayv1.Gateway]) bool {
			o, n := e.ObjectOld, e.ObjectNew
			return !equality.Semantic.DeepEqual(o.Status.Addresses, n.Status.Addresses) ||
				!equality.Semantic.DeepEqual(o.Spec.Listeners, n.Spec.Listeners)
		},
	}
}

// APIsOfGateway selects the APIs the component Gateway gw carries: every API for
// "namespace/name", else those of its namespace.
func (b *Builder) APIsOfGateway(gw *gatewayv1.Gateway) []client.ListOption {
	if strings.Contains(b.Routes.Gateway, "/") {
		return nil
	}
	return []client.ListOption{client.InNamespace(gw.Namespace)}
}
