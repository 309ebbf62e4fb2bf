package exposedapi

import (
	"context"
	"net"
	"sort"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
)

// IngressGatewayLabel selects the Istio ingress gateway Service whose address APIs are
// published at.
const IngressGatewayLabel = "istio"

// IngressGatewayValue is the value of IngressGatewayLabel on the gateway Service.
const IngressGatewayValue = "ingressgateway"

// ingress is where the gateway can be reached from outside.
type ingress struct {
	// address is the ingress IP or host name; empty while the load balancer has none.
	address string
	// portSuffix is ":<port>" for a non-standard http port, else empty.
	portSuffix string
}

// ingress reads the gateway Service from the gateway cache. Several match the label only in
// unusual installs; the first by namespace/name is used, as the API server lists them.
func (r *Reconciler) ingress(ctx context.Context) (ingress, error) {
	var list corev1.ServiceList
	if err := r.Gateways.List(ctx, &list); err != nil {
		return ingress{}, err
	}
	var in ingress
	if len(list.Items) > 0 {
		sort.Slice(list.Items, func(i, j int) bool {
			return client.ObjectKeyFromObject(&list.Items[i]).String() < client.ObjectKeyFromObject(&list.Items[j]).String()
		})
		in = ingressOf(&list.Items[0])
	}
	if r.PublicHostname != "" {
		in.address = r.PublicHostname
	}
	return in, nil
}

func ingressOf(svc *corev1.Service) ingress {
	in := ingress{portSuffix: portSuffix(svc)}
	if lb := svc.Status.LoadBalancer.Ingress; len(lb) > 0 {
		in.address = lb[0].IP
		if in.address == "" {
			in.address = lb[0].Hostname
		}
	}
	return in
}

// portSuffix is taken from the first port named http or http2, left out for 80 and 443.
func portSuffix(svc *corev1.Service) string {
	for _, p := range svc.Spec.Ports {
		if p.Name != "http" && p.Name != "http2" {
			continue
		}
		if p.Port == 80 || p.Port == 443 {
			return ""
		}
		return ":" + strconv.Itoa(int(p.Port))
	}
	return ""
}

// urlHost writes an IPv6 address in brackets, as a URL needs.
func urlHost(h string) string {
	if ip := net.ParseIP(h); ip != nil && ip.To4() == nil {
		return "[" + h + "]"
	}
	return h
}

// gatewayChanged lets through only the gateway updates that can change an API's URL.
func gatewayChanged() predicate.TypedPredicate[*corev1.Service] {
	return AddressChanged(func(svc *corev1.Service) any { return []any{svc.Status.LoadBalancer, svc.Spec.Ports} })
}

// AddressChanged lets through only the updates of a gateway object that change what
// address returns of it: the parts an API's URL is made from.
func AddressChanged[T client.Object](address func(T) any) predicate.TypedPredicate[T] {
	return predicate.TypedFuncs[T]{
		UpdateFunc: func(e event.TypedUpdateEvent[T]) bool {
			return !equality.Semantic.DeepEqual(address(e.ObjectOld), address(e.ObjectNew))
		},
	}
}
