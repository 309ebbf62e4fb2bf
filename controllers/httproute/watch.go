package httproute

import (
	"strings"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/oda-canvas/api-operator-istio/controllers/exposedapi"
)

// GatewayChanged lets through only the Gateway updates that can change an API's URL or
// where its token checks go.
func GatewayChanged() predicate.TypedPredicate[*gatewayv1.Gateway] {
	return exposedapi.AddressChanged(func(gw *gatewayv1.Gateway) any {
		// The class and a Service address decide where the token checks go (policies).
		return []any{gw.Status.Addresses, gw.Spec.Listeners, gw.Spec.GatewayClassName, gw.Spec.Addresses}
	})
}

// GatewayClassChanged lets through only the GatewayClass updates that change the
// controller of its Gateways. The API server keeps controllerName immutable, so a class
// that changes hands is deleted and made again; the updates left are its controller's
// status writes, which change nothing the APIs read.
func GatewayClassChanged() predicate.TypedPredicate[*gatewayv1.GatewayClass] {
	return exposedapi.AddressChanged(func(c *gatewayv1.GatewayClass) any { return c.Spec.ControllerName })
}

// APIsOfGateway selects the APIs the component Gateway gw carries: every API for
// "namespace/name", else those of its namespace.
func (b *Builder) APIsOfGateway(gw *gatewayv1.Gateway) []client.ListOption {
	if strings.Contains(b.Routes.Gateway, "/") {
		return nil
	}
	return []client.ListOption{client.InNamespace(gw.Namespace)}
}
