package httproute

import (
	"context"
	"fmt"
	"strconv"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/controllers/exposedapi"
)

// Reasons of the Programmed condition in this mode; a route the gateway refused carries
// the gateway's own reason.
const (
	ReasonAccepted         = "HTTPRouteAccepted"
	ReasonNotYetAccepted   = "GatewayNotYetAccepted"
	ReasonGatewayNotFound  = "GatewayNotFound"
	ReasonClassNotFound    = "GatewayClassNotFound"
	ReasonCRDsMissing      = "GatewayAPICRDsMissing"
	ReasonRefusedByGateway = "RefusedByGateway" // when the gateway gave no reason
)

// Gateway reads the component Gateway of the APIs in namespace from the cache: nil when it
// does not exist, or before the Gateway API kinds are served.
func (b *Builder) Gateway(ctx context.Context, namespace string) (*gatewayv1.Gateway, error) {
	c := b.caches.Load()
	if c == nil || c.Gateways == nil {
		return nil, nil
	}
	gw := &gatewayv1.Gateway{}
	if err := c.Gateways.Get(ctx, b.GatewayKey(namespace), gw); err != nil {
		return nil, client.IgnoreNotFound(err)
	}
	return gw, nil
}

// GatewayClass reads GatewayClass name from the cache: nil when it does not exist, or
// before the Gateway API kinds are served.
func (b *Builder) GatewayClass(ctx context.Context, name gatewayv1.ObjectName) (*gatewayv1.GatewayClass, error) {
	c := b.caches.Load()
	if c == nil || c.Classes == nil {
		return nil, nil
	}
	class := &gatewayv1.GatewayClass{}
	if err := c.Classes.Get(ctx, client.ObjectKey{Name: string(name)}, class); err != nil {
		return nil, client.IgnoreNotFound(err)
	}
	return class, nil
}

// route is what the API's HTTPRoute tells: whether the Gateway accepted it, and where that
// Gateway is reached.
func (b *Builder) route(ctx context.Context, c *Caches, api *odav1.ExposedAPI, hr *gatewayv1.HTTPRoute) (exposedapi.Route, error) {
	gw := b.GatewayKey(api.Namespace)
	r := exposedapi.Route{UID: hr.UID, Serves: b.servedKey(hr)}
	if c.Gateways == nil {
		// VirtualService mode watches no Gateway: a former HTTPRoute is not judged.
		r.Programmed = programmed(false, ReasonNotYetAccepted, fmt.Sprintf(
			"HTTPRoute %s is not judged: Gateways are watched in HTTPRoute mode only", hr.Name))
		return r, nil
	}
	gateway := &gatewayv1.Gateway{}
	err := c.Gateways.Get(ctx, gw, gateway)
	switch {
	case apierrors.IsNotFound(err):
		// Whatever the route's status says is stale: nothing serves it.
		r.Programmed = programmed(false, ReasonGatewayNotFound, fmt.Sprintf(
			"Gateway %s does not exist: create it, or set componentGateway (APIOPERATORISTIO_COMPONENTGATEWAY) to the Gateway the routes attach to", gw))
		r.NoAddress = fmt.Sprintf("Gateway %s does not exist; the URL follows when it has an address", gw)
	case err != nil:
		return r, err
	default:
		if r.Programmed, err = b.judgement(ctx, hr, gateway); err != nil {
			return r, err
		}
		r.Address, r.PortSuffix = address(gateway)
		r.NoAddress = fmt.Sprintf("Gateway %s has no address in its status yet; the URL follows when it has one", gw)
	}
	// A refusal or a missing Gateway is for a person to act on; the gateway's silence so far,
	// and a class its implementation has yet to install, are a wait.
	r.Refused = r.Programmed.Status == metav1.ConditionFalse && r.Programmed.Reason != ReasonNotYetAccepted && r.Programmed.Reason != ReasonClassNotFound
	if b.Routes.PublicHostname != "" {
		r.Address = b.Routes.PublicHostname
	}
	if r.Programmed.Status != metav1.ConditionTrue {
		// The canvas reads the URL, not Ready: a route the gateway does not serve has none.
		r.Address, r.PortSuffix = "", ""
	}
	return r, nil
}

// judgement is the Programmed condition of hr on gateway, as the controller of the
// Gateway's class judged it. Without the class no controller is known to serve the
// Gateway, and the route's status, whoever wrote it, is no verdict.
func (b *Builder) judgement(ctx context.Context, hr *gatewayv1.HTTPRoute, gateway *gatewayv1.Gateway) (metav1.Condition, error) {
	gw := client.ObjectKeyFromObject(gateway)
	class, err := b.GatewayClass(ctx, gateway.Spec.GatewayClassName)
	switch {
	case err != nil:
		return metav1.Condition{}, err
	case class == nil:
		return programmed(false, ReasonClassNotFound, fmt.Sprintf(
			"HTTPRoute %s waits for GatewayClass %s of Gateway %s, which does not exist: no gateway controller is known to serve the Gateway", hr.Name, gateway.Spec.GatewayClassName, gw)), nil
	}
	return acceptance(hr, gw, class.Spec.ControllerName), nil
}

// acceptance is the Programmed condition: the verdict of the gateway's controller on the
// route for our parent, as it last wrote it for the route's current generation. Accepted
// alone is not enough: a route whose backend the gateway cannot resolve is still accepted,
// and answered with HTTP 500. ResolvedRefs may be left out by an implementation, so only
// its False counts.
func acceptance(hr *gatewayv1.HTTPRoute, gw client.ObjectKey, controller gatewayv1.GatewayController) metav1.Condition {
	accepted, resolved := verdict(hr, gw, controller)
	switch {
	case accepted == nil || accepted.ObservedGeneration < hr.Generation || accepted.Status == metav1.ConditionUnknown:
		return waiting(hr, gw, "accept it", gatewayv1.RouteConditionAccepted)
	case accepted.Status == metav1.ConditionFalse:
		return refused(accepted, fmt.Sprintf("Gateway %s refused HTTPRoute %s", gw, hr.Name))
	case resolved != nil && resolved.ObservedGeneration < hr.Generation:
		return waiting(hr, gw, "resolve its references", gatewayv1.RouteConditionResolvedRefs)
	case resolved != nil && resolved.Status == metav1.ConditionFalse:
		return refused(resolved, fmt.Sprintf("Gateway %s accepted HTTPRoute %s but cannot resolve its references, and answers it with HTTP 500", gw, hr.Name))
	}
	return programmed(true, ReasonAccepted, fmt.Sprintf("HTTPRoute %s is accepted by Gateway %s", hr.Name, gw))
}

// verdict is the Accepted and ResolvedRefs conditions of the route's entry for gw written
// by controller. Other controllers' entries for the same parent are not its verdict: one
// left by the Gateway's former class, or written by an implementation that does not
// serve it.
func verdict(hr *gatewayv1.HTTPRoute, gw client.ObjectKey, controller gatewayv1.GatewayController) (accepted, resolved *metav1.Condition) {
	for i := range hr.Status.Parents {
		if p := &hr.Status.Parents[i]; p.ControllerName == controller && isParent(p.ParentRef, hr.Namespace, gw) {
			accepted = meta.FindStatusCondition(p.Conditions, string(gatewayv1.RouteConditionAccepted))
			resolved = meta.FindStatusCondition(p.Conditions, string(gatewayv1.RouteConditionResolvedRefs))
		}
	}
	return accepted, resolved
}

func waiting(hr *gatewayv1.HTTPRoute, gw client.ObjectKey, what string, cond gatewayv1.RouteConditionType) metav1.Condition {
	return programmed(false, ReasonNotYetAccepted, fmt.Sprintf(
		"HTTPRoute %s waits for Gateway %s to %s: the gateway has not written its %s condition for this version of the route", hr.Name, gw, what, cond))
}

// refused is the gateway's False condition c, with its own reason and message after what.
func refused(c *metav1.Condition, what string) metav1.Condition {
	reason := c.Reason
	if reason == "" {
		reason = ReasonRefusedByGateway
	}
	return programmed(false, reason, fmt.Sprintf("%s (%s): %s", what, reason, c.Message))
}

// isParent tells whether ref, in a route of namespace ns, names the Gateway gw.
func isParent(ref gatewayv1.ParentReference, ns string, gw client.ObjectKey) bool {
	if ref.Namespace != nil {
		ns = string(*ref.Namespace)
	}
	return string(ref.Name) == gw.Name && ns == gw.Namespace &&
		(ref.Group == nil || *ref.Group == gatewayv1.GroupName) && (ref.Kind == nil || *ref.Kind == "Gateway")
}

// address is R4.2 for a Gateway: its first IP or host name address, and the port of its
// first HTTP listener unless 80 or 443.
func address(gw *gatewayv1.Gateway) (addr, portSuffix string) {
	for _, a := range gw.Status.Addresses {
		if a.Type == nil || *a.Type == gatewayv1.IPAddressType || *a.Type == gatewayv1.HostnameAddressType {
			addr = a.Value
			break
		}
	}
	for _, l := range gw.Spec.Listeners {
		if l.Protocol != gatewayv1.HTTPProtocolType {
			continue
		}
		if l.Port != 80 && l.Port != 443 {
			portSuffix = ":" + strconv.Itoa(int(l.Port))
		}
		break
	}
	return addr, portSuffix
}

func programmed(ok bool, reason, msg string) metav1.Condition {
	s := metav1.ConditionFalse
	if ok {
		s = metav1.ConditionTrue
	}
	return metav1.Condition{Type: exposedapi.ConditionProgrammed, Status: s, Reason: reason, Message: msg}
}
