package exposedapi

import (
	"context"
	"fmt"
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
	// noAddress says why address is empty.
	noAddress string
}

// noGateway is why there is no address when no gateway Service is found.
const noGateway = "no Service labelled istio=ingressgateway (the Istio ingress gateway) was found; " +
	"the URL follows when there is one, or set a public host name (APIOPERATORISTIO_PUBLICHOSTNAME)"

// ingress reads the gateway Service from the gateway cache. Several match the label only in
// unusual installs; the first by namespace/name is used, as the API server lists them.
func (r *Reconciler) ingress(ctx context.Context) (ingress, error) {
	var list corev1.ServiceList
	if err := r.Gateways.List(ctx, &list); err != nil {
		return ingress{}, err
	}
	in := ingress{noAddress: noGateway}
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
	name := svc.Namespace + "/" + svc.Name
	switch {
	case in.address != "":
	case svc.Spec.Type != corev1.ServiceTypeLoadBalancer:
		// The canvas's Kong and APISIX charts turn the gateway into a ClusterIP Service, and
		// its api-operator-istio chart turned it back: ours leaves another release's
		// Service alone, and says so here.
		in.noAddress = fmt.Sprintf("the Istio ingress gateway Service %s is of type %s, which gets no load balancer address: "+
			"make it a LoadBalancer, or set a public host name (APIOPERATORISTIO_PUBLICHOSTNAME)", name, svc.Spec.Type)
	default:
		in.noAddress = "the Istio ingress gateway Service " + name + " has no load balancer address yet; the URL follows when it has one"
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

// gatewayChanged lets through only the gateway updates that can change an API's URL, or
// why it has none.
func gatewayChanged() predicate.TypedPredicate[*corev1.Service] {
	return AddressChanged(func(svc *corev1.Service) any { return []any{svc.Status.LoadBalancer, svc.Spec.Ports, svc.Spec.Type} })
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
