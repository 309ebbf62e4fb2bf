package policies

import (
	"context"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/internal/policy"
)

// IstioGatewayController is the controllerName of Istio's GatewayClasses.
const IstioGatewayController = "istio.io/gateway-controller"

// KubernetesGateways finds the Gateway API Gateway the routes of an API attach to, in
// HTTPRoute mode: the httproute Builder.
type KubernetesGateways interface {
	// GatewayKey is the Gateway of the routes of APIs in namespace.
	GatewayKey(namespace string) client.ObjectKey
	// Gateway reads it: nil when it does not exist or the Gateway API kinds are not served.
	Gateway(ctx context.Context, namespace string) (*gatewayv1.Gateway, error)
	// GatewayClass reads a Gateway's class, which tells the implementation that reads the
	// routes on it (only Istio's reads Istio's token checks): nil when it does not exist.
	GatewayClass(ctx context.Context, name gatewayv1.ObjectName) (*gatewayv1.GatewayClass, error)
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
	class, err := e.Kubernetes.GatewayClass(ctx, gw.Spec.GatewayClassName)
	switch {
	case err != nil:
		return place{}, nil, err
	case class == nil:
		return place{}, keyFinding(false, fmt.Sprintf("GatewayClass %s of Gateway %s does not exist: the token checks have no gateway to apply to", gw.Spec.GatewayClassName, key)), nil
	case class.Spec.ControllerName != IstioGatewayController:
		return place{}, keyFinding(false, fmt.Sprintf("Gateway %s is of GatewayClass %s, implemented by %s: only Istio (%s) applies RequestAuthentication and AuthorizationPolicy, so callers are not checked",
			key, class.Name, class.Spec.ControllerName, IstioGatewayController)), nil
	}
	if svc, manual := manualDeployment(gw); manual {
		return e.manualPlace(ctx, key, svc)
	}
	return place{Namespace: gw.Namespace, Attach: policy.Attachment{Gateway: gw.Name}}, nil, nil
}

// manualDeployment tells an Istio Gateway served by pods Istio did not deploy for it, as
// Istio tells one (IsManaged): more than one address, or one that is not an IP, naming
// the Service whose pods serve it. Those pods lack the gateway-name label that targetRefs
// match, so the checks must select them by label instead.
func manualDeployment(gw *gatewayv1.Gateway) (client.ObjectKey, bool) {
	a := gw.Spec.Addresses
	if len(a) == 0 || len(a) == 1 && (a[0].Type == nil || *a[0].Type == gatewayv1.IPAddressType) {
		return client.ObjectKey{}, false
	}
	for _, addr := range a {
		if addr.Type != nil && *addr.Type == gatewayv1.HostnameAddressType {
			// name, name.namespace or name.namespace.svc.<domain>; a bare name is in the
			// Gateway's namespace.
			parts := strings.Split(addr.Value, ".")
			svc := client.ObjectKey{Namespace: gw.Namespace, Name: parts[0]}
			if len(parts) > 1 {
				svc.Namespace = parts[1]
			}
			return svc, true
		}
	}
	return client.ObjectKey{}, true
}

// manualPlace is the place of the checks of a Gateway served by Service svc's pods: those
// of the istio=ingressgateway Service in the ingress gateway's namespace, which the checks
// select by label; other pods no check of the operator's can reach.
func (e *Extension) manualPlace(ctx context.Context, gateway, svc client.ObjectKey) (place, *finding, error) {
	at, f, err := e.ingressPlace(ctx, false)
	if err != nil || f != nil {
		return at, f, err
	}
	// The cache holds the istio=ingressgateway Services of the ingress namespace alone.
	if svc.Namespace == at.Namespace {
		err := e.Gateway.Services.Get(ctx, svc, &corev1.Service{})
		if err == nil || !apierrors.IsNotFound(err) {
			return at, nil, err
		}
	}
	served := "Service " + svc.String()
	if svc.Name == "" {
		served = "its addresses (several, none naming a Service)"
	}
	return place{}, keyFinding(false, fmt.Sprintf(
		"Gateway %s is served by the pods of %s, not by the istio=ingressgateway Service in %s, whose pods alone the token checks can select: callers are not checked",
		gateway, served, at.Namespace)), nil
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
	switch {
	case ns == "" && discover:
		return place{}, &finding{Field: "spec", Detail: "the ingress gateway's namespace is not known: set --ingress-gateway-namespace; token checks and rate limits are not in force"}, nil
	case ns == "":
		return place{}, keyFinding(false, "the Gateway is served by the ingress gateway's pods (a Service in spec.addresses), whose namespace is not set: set --ingress-gateway-namespace"), nil
	}
	return place{Namespace: ns, Attach: policy.Attachment{Selector: e.Gateway.Selector}}, nil, nil
}

// namespaces are where the API's objects on the gateway may be, to remove them: in
// HTTPRoute mode the Gateway's namespace and, when configured, the ingress gateway's;
// otherwise the configured one, or wherever objects labelled as the API's are.
func (e *Extension) namespaces(ctx context.Context, api *odav1.ExposedAPI) ([]string, error) {
	if e.byLabel() {
		return e.labelledNamespaces(ctx, api)
	}
	if e.Kubernetes == nil {
		return []string{e.Gateway.Namespace}, nil
	}
	out := []string{e.Kubernetes.GatewayKey(api.Namespace).Namespace}
	if ns := e.Gateway.Namespace; ns != "" && ns != out[0] {
		out = append(out, ns)
	}
	return out, nil
}

// byLabel: the API's objects on the gateway are found by their labels, the namespace being
// neither configured nor a Gateway's.
func (e *Extension) byLabel() bool { return e.Kubernetes == nil && e.Gateway.Namespace == "" }

// labelledNamespaces are the namespaces holding objects labelled as the API's, of the kinds
// the settings let it manage. The namespace found from the ingress gateway Services is lost
// while there are two of them or none, and changes when the one Service moves, while the
// objects written there stay in force: removing them cannot depend on finding it again.
func (e *Extension) labelledNamespaces(ctx context.Context, api *odav1.ExposedAPI) ([]string, error) {
	managed, _ := e.gatewayKinds(metav1.ObjectMeta{})
	var out []string
	for _, obj := range managed {
		gvk, err := apiutil.GVKForObject(obj, e.Client.Scheme())
		if err != nil {
			return nil, err
		}
		// Metadata only: the namespaces are all that is wanted of them.
		list := &metav1.PartialObjectMetadataList{}
		list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		if err := e.APIReader.List(ctx, list, client.MatchingLabels(gatewayLabels(api))); err != nil {
			return nil, err
		}
		for _, item := range list.Items {
			if !slices.Contains(out, item.Namespace) {
				out = append(out, item.Namespace)
			}
		}
	}
	return out, nil
}
