package policies

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/internal/policy"
)

// The GatewayClass of a Gateway tells which implementation reads the routes on it; only
// Istio's reads Istio's token checks.
// +kubebuilder:rbac:groups=gateway.networking.k8s.io,resources=gatewayclasses,verbs=get

// IstioGatewayController is the controllerName of Istio's GatewayClasses.
const IstioGatewayController = "istio.io/gateway-controller"

// KubernetesGateways finds the Gateway API Gateway the routes of an API attach to, in
// HTTPRoute mode: the httproute Builder.
type KubernetesGateways interface {
	// GatewayKey is the Gateway of the routes of APIs in namespace.
	GatewayKey(namespace string) client.ObjectKey
	// Gateway reads it: nil when it does not exist or the Gateway API kinds are not served.
	Gateway(ctx context.Context, namespace string) (*gatewayv1.Gateway, error)
}

// place is where an API's objects on the gateway go, and which pods they apply to.
type place struct {
	Namespace string
	Attach    policy.Attachment
}

// placement is where the API's objects on the gateway go; a finding instead when they
// cannot go anywhere that applies them.
func (e *Extension) placement(ctx context.Context, api *odav1.ExposedAPI) (place, *finding, error) {
	if e.Kubernetes == nil {
		return e.ingressPlace(ctx, true)
	}
	key := e.Kubernetes.GatewayKey(api.Namespace)
	gw, err := e.Kubernetes.Gateway(ctx, api.Namespace)
	if err != nil || gw == nil {
		return place{}, keyFinding(false, fmt.Sprintf("Gateway %s does not exist (or the Gateway API kinds are not served): the token checks have no gateway to apply to", key)), err
	}
	class := &gatewayv1.GatewayClass{}
	err = e.APIReader.Get(ctx, client.ObjectKey{Name: string(gw.Spec.GatewayClassName)}, class)
	switch {
	case apierrors.IsNotFound(err):
		return place{}, keyFinding(false, fmt.Sprintf("GatewayClass %s of Gateway %s does not exist: the token checks have no gateway to apply to", gw.Spec.GatewayClassName, key)), nil
	case err != nil:
		return place{}, nil, err
	case class.Spec.ControllerName != IstioGatewayController:
		return place{}, keyFinding(false, fmt.Sprintf("Gateway %s is of GatewayClass %s, implemented by %s: only Istio (%s) applies RequestAuthentication and AuthorizationPolicy, so callers are not checked",
			key, class.Name, class.Spec.ControllerName, IstioGatewayController)), nil
	case manualDeployment(gw):
		return e.ingressPlace(ctx, false)
	}
	return place{Namespace: gw.Namespace, Attach: policy.Attachment{Gateway: gw.Name}}, nil, nil
}

// manualDeployment tells an Istio Gateway served by pods Istio did not deploy for it: an
// address that names a Service, such as the istio=ingressgateway one. Those pods lack the
// gateway-name label that targetRefs match, so the checks select them by label instead.
func manualDeployment(gw *gatewayv1.Gateway) bool {
	for _, a := range gw.Spec.Addresses {
		if a.Type != nil && *a.Type == gatewayv1.HostnameAddressType {
			return true
		}
	}
	return false
}

// ingressPlace is the istio=ingressgateway pods' namespace, the configured one or, with
// discover, the one their Services are in.
func (e *Extension) ingressPlace(ctx context.Context, discover bool) (place, *finding, error) {
	ns := e.Gateway.Namespace
	if discover {
		var err error
		if ns, err = e.gatewayNamespace(ctx); err != nil {
			return place{}, nil, err
		}
	}
	if ns == "" {
		return place{}, &finding{Field: "spec", Detail: "the ingress gateway's namespace is not known: set --ingress-gateway-namespace; token checks and rate limits are not in force"}, nil
	}
	return place{Namespace: ns, Attach: policy.Attachment{Selector: e.Gateway.Selector}}, nil, nil
}

// namespaces are where the API's objects on the gateway may be, to remove them: in
// HTTPRoute mode the Gateway's namespace and, when configured, the ingress gateway's.
func (e *Extension) namespaces(ctx context.Context, api *odav1.ExposedAPI) ([]string, error) {
	if e.Kubernetes == nil {
		ns, err := e.gatewayNamespace(ctx)
		if ns == "" {
			return nil, err
		}
		return []string{ns}, err
	}
	out := []string{e.Kubernetes.GatewayKey(api.Namespace).Namespace}
	if ns := e.Gateway.Namespace; ns != "" && ns != out[0] {
		out = append(out, ns)
	}
	return out, nil
}
