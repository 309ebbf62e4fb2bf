package httproute

import (
	"testing"

	"github.com/stretchr/testify/assert"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// TestAcceptanceReadsResolvedRefs: for the route's current generation, ResolvedRefs=False
// is the gateway's refusal even though it accepted the route; a missing or Unknown one is
// no verdict against it, and one for an older generation is still awaited.
func TestAcceptanceReadsResolvedRefs(t *testing.T) {
	accepted := cond(gatewayv1.RouteConditionAccepted, metav1.ConditionTrue, "Accepted", 2)
	for _, tc := range []struct {
		name   string
		conds  []metav1.Condition
		status metav1.ConditionStatus
		reason string
	}{
		{"no ResolvedRefs", []metav1.Condition{accepted}, metav1.ConditionTrue, ReasonAccepted},
		{"resolved", []metav1.Condition{accepted, cond(gatewayv1.RouteConditionResolvedRefs, metav1.ConditionTrue, "ResolvedRefs", 2)}, metav1.ConditionTrue, ReasonAccepted},
		{"unknown", []metav1.Condition{accepted, cond(gatewayv1.RouteConditionResolvedRefs, metav1.ConditionUnknown, "Pending", 2)}, metav1.ConditionTrue, ReasonAccepted},
		{"unresolved", []metav1.Condition{accepted, cond(gatewayv1.RouteConditionResolvedRefs, metav1.ConditionFalse, "RefNotPermitted", 2)}, metav1.ConditionFalse, "RefNotPermitted"},
		{"unresolved before", []metav1.Condition{accepted, cond(gatewayv1.RouteConditionResolvedRefs, metav1.ConditionFalse, "BackendNotFound", 1)}, metav1.ConditionFalse, ReasonNotYetAccepted},
		{"resolved before", []metav1.Condition{accepted, cond(gatewayv1.RouteConditionResolvedRefs, metav1.ConditionTrue, "ResolvedRefs", 1)}, metav1.ConditionFalse, ReasonNotYetAccepted},
		{"refused and unresolved", []metav1.Condition{cond(gatewayv1.RouteConditionAccepted, metav1.ConditionFalse, "NotAllowedByListeners", 2),
			cond(gatewayv1.RouteConditionResolvedRefs, metav1.ConditionFalse, "BackendNotFound", 2)}, metav1.ConditionFalse, "NotAllowedByListeners"},
		{"accepted before", []metav1.Condition{cond(gatewayv1.RouteConditionAccepted, metav1.ConditionTrue, "Accepted", 1),
			cond(gatewayv1.RouteConditionResolvedRefs, metav1.ConditionFalse, "BackendNotFound", 2)}, metav1.ConditionFalse, ReasonNotYetAccepted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := acceptance(routeWith(tc.conds), client.ObjectKey{Namespace: "canvas", Name: "gw"}, "example.com/gw")
			assert.Equal(t, [2]string{string(tc.status), tc.reason}, [2]string{string(got.Status), got.Reason}, got.Message)
		})
	}
}

func cond(typ gatewayv1.RouteConditionType, s metav1.ConditionStatus, reason string, gen int64) metav1.Condition {
	return metav1.Condition{Type: string(typ), Status: s, Reason: reason, ObservedGeneration: gen}
}

// routeWith is a route at generation 2 on Gateway canvas/gw, with conds for that parent
// written by controller example.com/gw.
func routeWith(conds []metav1.Condition) *gatewayv1.HTTPRoute {
	return routeBy(map[gatewayv1.GatewayController][]metav1.Condition{"example.com/gw": conds})
}

// routeBy is a route at generation 2 on Gateway canvas/gw, with an entry for that parent
// of each controller.
func routeBy(entries map[gatewayv1.GatewayController][]metav1.Condition) *gatewayv1.HTTPRoute {
	ns := gatewayv1.Namespace("canvas")
	ref := gatewayv1.ParentReference{Namespace: &ns, Name: "gw"}
	hr := &gatewayv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Namespace: "components", Name: "shop", Generation: 2}}
	for controller, conds := range entries {
		hr.Status.Parents = append(hr.Status.Parents, gatewayv1.RouteParentStatus{ParentRef: ref, ControllerName: controller, Conditions: conds})
	}
	return hr
}

// TestAcceptanceIsTheClassControllers: of several controllers' entries for the Gateway,
// only that of the controller of the Gateway's class is its verdict, whatever the order.
func TestAcceptanceIsTheClassControllers(t *testing.T) {
	accepted := []metav1.Condition{cond(gatewayv1.RouteConditionAccepted, metav1.ConditionTrue, "Accepted", 2)}
	refused := []metav1.Condition{cond(gatewayv1.RouteConditionAccepted, metav1.ConditionFalse, "NotAllowedByListeners", 2)}
	for _, tc := range []struct {
		name    string
		entries map[gatewayv1.GatewayController][]metav1.Condition
		status  metav1.ConditionStatus
		reason  string
	}{
		{"another's stale acceptance", map[gatewayv1.GatewayController][]metav1.Condition{"example.com/old": accepted}, metav1.ConditionFalse, ReasonNotYetAccepted},
		{"another's refusal", map[gatewayv1.GatewayController][]metav1.Condition{"example.com/gw": accepted, "example.com/old": refused}, metav1.ConditionTrue, ReasonAccepted},
		{"refused beside another's acceptance", map[gatewayv1.GatewayController][]metav1.Condition{"example.com/gw": refused, "example.com/old": accepted}, metav1.ConditionFalse, "NotAllowedByListeners"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for range 10 { // map order varies, and so does the order of the entries
				got := acceptance(routeBy(tc.entries), client.ObjectKey{Namespace: "canvas", Name: "gw"}, "example.com/gw")
				assert.Equal(t, [2]string{string(tc.status), tc.reason}, [2]string{string(got.Status), got.Reason}, got.Message)
			}
		})
	}
}
