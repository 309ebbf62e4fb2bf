package exposedapi

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/proto"
	istioapi "istio.io/api/networking/v1alpha3"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
)

// virtualServiceSpec is the route of R3.1: the API's path prefix on the component gateway
// to the implementation Service's port.
func (r *Reconciler) virtualServiceSpec(spec *odav1.ExposedAPISpec) *istioapi.VirtualService {
	return &istioapi.VirtualService{
		Hosts:    []string{r.Routes.Host(spec)},
		Gateways: []string{r.Routes.Gateway},
		Http: []*istioapi.HTTPRoute{{
			Match: []*istioapi.HTTPMatchRequest{{
				Uri: &istioapi.StringMatch{MatchType: &istioapi.StringMatch_Prefix{Prefix: spec.Path}},
			}},
			Route: []*istioapi.HTTPRouteDestination{{
				Destination: &istioapi.Destination{
					Host: spec.Implementation,
					Port: &istioapi.PortSelector{Number: uint32(spec.Port)},
				},
			}},
		}},
	}
}

// virtualService is the API's VirtualService read through reader (the cache, or the API
// server for one outside it), or nil.
func virtualService(ctx context.Context, reader client.Reader, api *odav1.ExposedAPI) (*networkingv1.VirtualService, error) {
	vs := &networkingv1.VirtualService{}
	err := reader.Get(ctx, client.ObjectKeyFromObject(api), vs)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	return vs, err
}

func ownedBy(obj metav1.Object, uid types.UID) bool {
	ref := metav1.GetControllerOf(obj)
	return ref != nil && ref.UID == uid
}

// programRoute creates or updates the VirtualService, writing only when it differs from
// what is wanted. It returns the VirtualService as stored and what it did ("" for nothing).
func (r *Reconciler) programRoute(ctx context.Context, api *odav1.ExposedAPI, spec *odav1.ExposedAPISpec, vs *networkingv1.VirtualService) (*networkingv1.VirtualService, string, error) {
	want := r.virtualServiceSpec(spec)
	if vs == nil {
		vs = &networkingv1.VirtualService{ObjectMeta: metav1.ObjectMeta{
			Name: api.Name, Namespace: api.Namespace, Labels: childLabels(api),
		}}
		want.DeepCopyInto(&vs.Spec)
		if err := controllerutil.SetControllerReference(api, vs, r.Client.Scheme()); err != nil {
			return nil, "", err
		}
		if err := r.Client.Create(ctx, vs); err != nil {
			return nil, "", err
		}
		return vs, "Created", nil
	}
	if proto.Equal(&vs.Spec, want) && labelsMatch(vs.Labels, childLabels(api)) && ownedBy(vs, api.UID) {
		return vs, "", nil
	}
	vs = vs.DeepCopy()
	want.DeepCopyInto(&vs.Spec)
	if vs.Labels == nil {
		vs.Labels = map[string]string{}
	}
	for k, v := range childLabels(api) {
		vs.Labels[k] = v
	}
	if err := controllerutil.SetControllerReference(api, vs, r.Client.Scheme()); err != nil {
		return nil, "", err
	}
	if err := r.Client.Update(ctx, vs); err != nil {
		return nil, "", err
	}
	return vs, "Updated", nil
}

// withdrawRoute deletes the API's own VirtualService, if it has one.
func (r *Reconciler) withdrawRoute(ctx context.Context, api *odav1.ExposedAPI, vs *networkingv1.VirtualService) (bool, error) {
	if vs == nil || !ownedBy(vs, api.UID) {
		return false, nil
	}
	err := r.Client.Delete(ctx, vs, client.Preconditions{UID: &vs.UID})
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

// ManagedByLabel marks the children this operator made; its caches hold only those.
const ManagedByLabel = "app.kubernetes.io/managed-by"

// ManagedByValue is ManagedByLabel's value.
const ManagedByValue = "api-operator-istio"

func childLabels(api *odav1.ExposedAPI) map[string]string {
	l := map[string]string{ManagedByLabel: ManagedByValue}
	if c := api.Labels[odav1.ComponentNameLabel]; c != "" {
		l[odav1.ComponentNameLabel] = c
	}
	return l
}

func labelsMatch(have, want map[string]string) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}

func routeDescription(r *Reconciler, spec *odav1.ExposedAPISpec) string {
	return fmt.Sprintf("%s%s on gateway %s to %s:%d", r.Routes.Host(spec), spec.Path, r.Routes.Gateway, spec.Implementation, spec.Port)
}

// virtualServices is the RouteBuilder of Istio VirtualServices.
type virtualServices struct{ r *Reconciler }

func (virtualServices) Kind() string { return "VirtualService" }

func (v virtualServices) Ensure(ctx context.Context, api *odav1.ExposedAPI, spec *odav1.ExposedAPISpec) (Route, error) {
	r := v.r
	vs, err := virtualService(ctx, r.Client, api)
	switch {
	case err != nil:
		return Route{}, err
	case vs != nil && !ownedBy(vs, api.UID):
		return v.foreign(api), nil
	}
	vs, did, err := r.programRoute(ctx, api, spec, vs)
	if apierrors.IsAlreadyExists(err) {
		// Not in our cache: made by someone else, or by an operator that did not label it
		// (the Python reference). Adopt it if this API owns it, else leave it alone.
		if vs, err = virtualService(ctx, r.APIReader, api); err != nil || vs == nil {
			return Route{}, err
		}
		if !ownedBy(vs, api.UID) {
			return v.foreign(api), nil
		}
		vs, did, err = r.programRoute(ctx, api, spec, vs)
	}
	if err != nil {
		return Route{}, err
	}
	if did != "" {
		logf.FromContext(ctx).Info("VirtualService "+lower(did), "virtualService", api.Name, "route", routeDescription(r, spec))
	}
	// A route created is the happy path, said by the status: an Event would be a third
	// write per API. A route changed under a running API is worth one.
	if did == "Updated" {
		r.event(api, "Normal", "VirtualServiceUpdated", did, "VirtualService %s routes %s", api.Name, routeDescription(r, spec))
	}
	return v.routed(ctx, vs, "VirtualService "+api.Name+" is in place")
}

func (v virtualServices) Withdraw(ctx context.Context, api *odav1.ExposedAPI) (bool, error) {
	vs, err := virtualService(ctx, v.r.Client, api)
	if err != nil {
		return false, err
	}
	return v.r.withdrawRoute(ctx, api, vs)
}

func (v virtualServices) Status(ctx context.Context, api *odav1.ExposedAPI) (Route, error) {
	vs, err := virtualService(ctx, v.r.Client, api)
	switch {
	case err != nil || vs == nil:
		return Route{}, err
	case !ownedBy(vs, api.UID):
		return v.foreign(api), nil
	}
	return v.routed(ctx, vs, "VirtualService "+api.Name+" keeps the last accepted route")
}

// routed is the Route of a VirtualService in place, reachable at the ingress address.
func (v virtualServices) routed(ctx context.Context, vs *networkingv1.VirtualService, msg string) (Route, error) {
	in, err := v.r.ingress(ctx)
	return Route{
		UID: vs.UID, Programmed: cond(ConditionProgrammed, true, ReasonProgrammed, msg),
		Address: in.address, PortSuffix: in.portSuffix,
		NoAddress: "the Istio ingress gateway Service (label istio=ingressgateway) has no load balancer address yet; the URL follows when it has one",
	}, err
}

func (virtualServices) foreign(api *odav1.ExposedAPI) Route {
	return Route{Programmed: cond(ConditionProgrammed, false, ReasonVirtualServiceNotOwned, fmt.Sprintf(
		"VirtualService %s/%s exists and is not controlled by this ExposedAPI; delete or rename it", api.Namespace, api.Name))}
}
