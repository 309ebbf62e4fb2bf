package exposedapi

import (
	"context"
	"fmt"
	"maps"

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
	"github.com/oda-canvas/api-operator-istio/internal/routes"
)

// wantedSpec is the VirtualService the API makes: its Service's mesh route for an internal
// API (that leads it), else its gateway route with what its policies ask of the route. The
// mesh route carries no policies: CORS and token checks are the gateway's business.
func (r *Reconciler) wantedSpec(obs *observed) *istioapi.VirtualService {
	if obs.mesh != nil {
		return meshVirtualServiceSpec(obs.claim.Host, obs.spec.Implementation, obs.mesh.members)
	}
	vs := virtualServiceSpec(obs.claim, &obs.spec)
	r.Policies.ApplyToRoute(vs.Http[0], &obs.spec)
	return vs
}

// virtualServiceSpec is the route of R3.1: the API's path prefix on the component gateway
// to the implementation Service's port.
func virtualServiceSpec(route routes.Route, spec *odav1.ExposedAPISpec) *istioapi.VirtualService {
	return &istioapi.VirtualService{
		Hosts:    []string{route.Host},
		Gateways: []string{route.Gateway},
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
func (r *Reconciler) programRoute(ctx context.Context, api *odav1.ExposedAPI, obs *observed, vs *networkingv1.VirtualService) (*networkingv1.VirtualService, string, error) {
	want := r.wantedSpec(obs)
	if vs == nil {
		vs = &networkingv1.VirtualService{ObjectMeta: metav1.ObjectMeta{
			Name: api.Name, Namespace: api.Namespace, Labels: childLabels(api),
		}}
		want.DeepCopyInto(&vs.Spec)
		if err := controllerutil.SetControllerReference(api, vs, r.Client.Scheme()); err != nil {
			return nil, "", err
		}
		if err := r.Creator.Create(ctx, vs); err != nil {
			return nil, "", err
		}
		return vs, "Created", nil
	}
	if proto.Equal(&vs.Spec, want) && labelsMatch(vs.Labels, childLabels(api)) && ownedBy(vs, api.UID) {
		return vs, "", nil
	}
	vs = vs.DeepCopy()
	want.DeepCopyInto(&vs.Spec)
	AddChildLabels(vs, api)
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

// childLabels are the labels of what an API makes: the API's own, as the reference's
// kopf.adopt copies them (the component name among them, so that a selector on it finds
// the children too), with ManagedByLabel ours whatever the API's says.
func childLabels(api *odav1.ExposedAPI) map[string]string {
	l := make(map[string]string, len(api.Labels)+1)
	maps.Copy(l, api.Labels)
	l[ManagedByLabel] = ManagedByValue
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

func routeDescription(obs *observed) string {
	return fmt.Sprintf("%s to %s:%d", obs.claim, obs.spec.Implementation, obs.spec.Port)
}

// virtualServices is the RouteBuilder of Istio VirtualServices: the API's own on the
// component gateway, or for an internal API its Service's mesh route (meshroute.go). It
// works on what observe found.
type virtualServices struct {
	r   *Reconciler
	obs *observed
}

func (virtualServices) Kind() string { return "VirtualService" }

func (v virtualServices) Ensure(ctx context.Context, api *odav1.ExposedAPI, _ *odav1.ExposedAPISpec) (Route, error) {
	r, obs := v.r, v.obs
	switch {
	case obs.foreign:
		return v.foreign(api), nil
	case obs.mesh != nil && !obs.mesh.ledBy(api):
		return v.routed(ctx, "") // the leader's VirtualService routes it
	}
	// A mesh VirtualService that already routes this API changes for the others' routes only.
	othersOnly := obs.mesh != nil && obs.vs != nil && routesAPI(obs.vs, api, &obs.spec)
	vs, did, err := r.programRoute(ctx, api, obs, obs.vs)
	if apierrors.IsAlreadyExists(err) {
		// Not in our cache: made by someone else, or by an operator that did not label it
		// (the Python reference). Adopt it if this API owns it, else leave it alone.
		if obs.vs, err = virtualService(ctx, r.APIReader, api); err != nil || obs.vs == nil {
			return Route{}, err
		}
		if obs.foreign = !ownedBy(obs.vs, api.UID); obs.foreign {
			return v.foreign(api), nil
		}
		vs, did, err = r.programRoute(ctx, api, obs, obs.vs)
	}
	if err != nil {
		return Route{}, err
	}
	obs.vs = vs
	if did != "" {
		logf.FromContext(ctx).Info("VirtualService "+lower(did), "virtualService", api.Name, "route", routeDescription(obs))
	}
	// A route created is the happy path, said by the status: an Event would be a third
	// write per API. A route changed under a running API is worth one.
	if did == "Updated" && !othersOnly {
		r.event(api, "Normal", "VirtualServiceUpdated", did, "VirtualService %s routes %s", api.Name, routeDescription(obs))
	}
	return v.routed(ctx, "VirtualService "+api.Name+" is in place")
}

// Withdraw deletes the API's own VirtualService, a gateway or a mesh route.
func (v virtualServices) Withdraw(ctx context.Context, api *odav1.ExposedAPI) (bool, error) {
	vs, err := virtualService(ctx, v.r.Client, api)
	if err != nil {
		return false, err
	}
	if vs == nil && v.obs.vs != nil && v.obs.vs.Name == api.Name {
		vs = v.obs.vs // one the cache cannot hold (uncachedVirtualService)
	}
	return v.r.withdrawRoute(ctx, api, vs)
}

// Exists tells what observe found: a VirtualService of the API's name, its own or another's.
func (v virtualServices) Exists(context.Context, *odav1.ExposedAPI) (bool, error) {
	return v.obs.vs != nil || v.obs.foreign, nil
}

func (v virtualServices) Taken(ctx context.Context, api *odav1.ExposedAPI) (bool, error) {
	vs, err := virtualService(ctx, v.r.APIReader, api)
	if err != nil || vs == nil {
		return false, err
	}
	v.obs.vs, v.obs.foreign = vs, !ownedBy(vs, api.UID)
	return true, nil
}

func (v virtualServices) Orphaned(ctx context.Context, api *odav1.ExposedAPI) (bool, error) {
	vs, err := virtualService(ctx, v.r.APIReader, api)
	if err != nil || vs == nil {
		return false, err
	}
	return OrphanedRoute(vs, api), nil
}

func (v virtualServices) Status(ctx context.Context, api *odav1.ExposedAPI) (Route, error) {
	switch {
	case v.obs.foreign:
		return v.foreign(api), nil
	case v.obs.vs == nil: // none, or the mesh route it led, which goes (observeMesh)
		return Route{}, nil
	}
	return v.routed(ctx, "VirtualService "+api.Name+" keeps the last accepted route")
}

// routed is the Route of the VirtualService that routes the API, programmed as msg says:
// reached at the ingress address, or for an internal API at its Service's cluster name, the
// condition then naming the mesh route.
func (v virtualServices) routed(ctx context.Context, msg string) (Route, error) {
	obs := v.obs
	var route Route
	if obs.vs != nil {
		route.UID = obs.vs.UID
	}
	if obs.mesh != nil {
		route.Programmed, route.Address = meshProgrammed(obs), obs.claim.Host
		// A follower the leader's VirtualService does not route yet has no route to describe
		// (its gateway one, if it moved in, is gone).
		route.Absent = obs.vs == nil
		return route, nil
	}
	in, err := v.r.ingress(ctx)
	route.Programmed = cond(ConditionProgrammed, true, ReasonProgrammed, msg)
	route.Address, route.PortSuffix = in.address, in.portSuffix
	route.NoAddress = in.noAddress
	return route, err
}

func (virtualServices) foreign(api *odav1.ExposedAPI) Route {
	return Route{Refused: true, Absent: true, Programmed: cond(ConditionProgrammed, false, ReasonVirtualServiceNotOwned, NotControlled("VirtualService", api))}
}
