package demo

import (
	"context"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// componentGateway makes the Gateway API Gateway the samples' APIs attach to in HTTPRoute
// mode, with the address a gateway controller would give it.
func componentGateway(ctx context.Context, c client.Client) error {
	if err := harness.IstioGatewayClass(ctx, c); err != nil {
		return err
	}
	gw := &gatewayv1.Gateway{
		ObjectMeta: metav1.ObjectMeta{Namespace: "components", Name: "component-gateway"},
		Spec: gatewayv1.GatewaySpec{GatewayClassName: "istio", Listeners: []gatewayv1.Listener{
			{Name: "http", Protocol: gatewayv1.HTTPProtocolType, Port: 80},
		}},
	}
	if err := c.Create(ctx, gw); err != nil {
		return err
	}
	gw.Status.Addresses = []gatewayv1.GatewayStatusAddress{{Type: ptr.To(gatewayv1.IPAddressType), Value: IngressIP}}
	return c.Status().Update(ctx, gw)
}

// acceptRoutes plays the gateway controller until the returned function is called: each
// HTTPRoute without a verdict for its generation is accepted.
func acceptRoutes(ctx context.Context, c client.Client) func() {
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		for ctx.Err() == nil {
			var list gatewayv1.HTTPRouteList
			if c.List(ctx, &list) == nil {
				for i := range list.Items {
					if hr := &list.Items[i]; !judged(hr) {
						_ = harness.WriteRouteVerdict(ctx, c, hr, true, "Accepted", "accepted by the demo")
					}
				}
			}
			time.Sleep(200 * time.Millisecond)
		}
	}()
	return cancel
}

func judged(hr *gatewayv1.HTTPRoute) bool {
	for _, p := range hr.Status.Parents {
		if a := meta.FindStatusCondition(p.Conditions, string(gatewayv1.RouteConditionAccepted)); a != nil && a.ObservedGeneration == hr.Generation {
			return true
		}
	}
	return false
}
