package harness

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// GatewayAPICRDs are the CRD files of the Gateway API's standard channel, as the
// sigs.k8s.io/gateway-api module of the build ships them.
func GatewayAPICRDs(t testing.TB) []string {
	crds, err := FindGatewayAPICRDs()
	if err != nil {
		t.Fatal(err)
	}
	return crds
}

// FindGatewayAPICRDs is GatewayAPICRDs for the demo.
func FindGatewayAPICRDs() ([]string, error) {
	mod, err := FindModuleDir("sigs.k8s.io/gateway-api")
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(mod, "config", "crd", "standard")
	files, err := filepath.Glob(filepath.Join(dir, "gateway.networking.k8s.io_*.yaml"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("no Gateway API CRDs in %s: %v", dir, err)
	}
	var crds []string
	for _, f := range files {
		// The ValidatingAdmissionPolicy beside them is no CRD.
		if !strings.Contains(f, "_vap_") {
			crds = append(crds, f)
		}
	}
	return crds, nil
}

// IstioGatewayClass makes GatewayClass istio, Istio's, as installing Istio does: the
// component Gateways are of this class, whose token checks Istio applies.
func IstioGatewayClass(ctx context.Context, c client.Client) error {
	class := &gatewayv1.GatewayClass{ObjectMeta: metav1.ObjectMeta{Name: "istio"},
		Spec: gatewayv1.GatewayClassSpec{ControllerName: GatewayController}}
	return client.IgnoreAlreadyExists(c.Create(ctx, class))
}

// GatewayController is the controller name the tests write route status as: Istio's, the
// controller of the component Gateways' class, whose entry alone the operator reads.
const GatewayController = "istio.io/gateway-controller"

// ComponentGateway creates or updates Gateway ns/name with one HTTP listener on port, and
// writes address (an IP, or a host name when it is not one; empty for none) into its
// status, as a gateway controller would.
func (e *Env) ComponentGateway(t testing.TB, ns, name, address string, port int32) {
	t.Helper()
	ctx := context.Background()
	e.Namespace(t, ns)
	if err := IstioGatewayClass(ctx, e.Client); err != nil {
		t.Fatal(err)
	}
	gw := &gatewayv1.Gateway{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	listeners := []gatewayv1.Listener{{Name: "http", Protocol: gatewayv1.HTTPProtocolType, Port: port}}
	err := e.Client.Get(ctx, client.ObjectKeyFromObject(gw), gw)
	switch {
	case apierrors.IsNotFound(err):
		gw.Spec = gatewayv1.GatewaySpec{GatewayClassName: "istio", Listeners: listeners}
		err = e.Client.Create(ctx, gw)
	case err == nil:
		gw.Spec.Listeners = listeners
		err = e.Client.Update(ctx, gw)
	}
	if err != nil {
		t.Fatal(err)
	}
	gw.Status.Addresses = nil
	if address != "" {
		kind := gatewayv1.HostnameAddressType
		if strings.Trim(address, "0123456789.") == "" {
			kind = gatewayv1.IPAddressType
		}
		gw.Status.Addresses = []gatewayv1.GatewayStatusAddress{{Type: ptr.To(kind), Value: address}}
	}
	if err := e.Client.Status().Update(ctx, gw); err != nil {
		t.Fatal(err)
	}
}

// JudgeRoute plays the gateway: it writes the HTTPRoute's Accepted condition for its first
// parent, for the route's current generation.
func (e *Env) JudgeRoute(t testing.TB, key client.ObjectKey, accepted bool, reason, message string) {
	t.Helper()
	e.WriteRouteConditions(t, key, RouteCondition(gatewayv1.RouteConditionAccepted, accepted, reason, message))
}

// WriteRouteConditions plays the gateway with every condition it writes for the HTTPRoute's
// first parent (Accepted and ResolvedRefs, say), for the route's current generation; they
// replace the ones it wrote before.
func (e *Env) WriteRouteConditions(t testing.TB, key client.ObjectKey, conds ...metav1.Condition) {
	t.Helper()
	e.WriteRouteConditionsAs(t, key, GatewayController, conds...)
}

// WriteRouteConditionsAs is WriteRouteConditions as gateway controller controller: its
// entry for the first parent, beside those of other controllers.
func (e *Env) WriteRouteConditionsAs(t testing.TB, key client.ObjectKey, controller gatewayv1.GatewayController, conds ...metav1.Condition) {
	t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		hr := &gatewayv1.HTTPRoute{}
		if err := e.Client.Get(context.Background(), key, hr); err != nil {
			return err
		}
		return writeRouteStatus(context.Background(), e.Client, hr, controller, conds)
	})
	if err != nil {
		t.Fatalf("writing the status of HTTPRoute %s: %v", key, err)
	}
}

// RouteCondition is a condition of type typ, True when ok, as a gateway writes it on a
// route's parent entry; the generation is filled in when it is written.
func RouteCondition(typ gatewayv1.RouteConditionType, ok bool, reason, message string) metav1.Condition {
	status := metav1.ConditionFalse
	if ok {
		status = metav1.ConditionTrue
	}
	return metav1.Condition{Type: string(typ), Status: status, Reason: reason, Message: message}
}

// WriteRouteVerdict writes the Accepted condition of hr's first parent, for its current
// generation, as the gateway controller GatewayController.
func WriteRouteVerdict(ctx context.Context, c client.Client, hr *gatewayv1.HTTPRoute, accepted bool, reason, message string) error {
	return writeRouteStatus(ctx, c, hr, GatewayController, []metav1.Condition{RouteCondition(gatewayv1.RouteConditionAccepted, accepted, reason, message)})
}

// writeRouteStatus makes conds, at hr's current generation, controller's status of hr's
// first parent; other controllers' entries stay, as each controller writes only its own.
func writeRouteStatus(ctx context.Context, c client.Client, hr *gatewayv1.HTTPRoute, controller gatewayv1.GatewayController, conds []metav1.Condition) error {
	parent := gatewayv1.RouteParentStatus{ParentRef: hr.Spec.ParentRefs[0], ControllerName: controller}
	for _, cond := range conds {
		cond.ObservedGeneration = hr.Generation
		meta.SetStatusCondition(&parent.Conditions, cond)
	}
	parents := []gatewayv1.RouteParentStatus{parent}
	for _, p := range hr.Status.Parents {
		if p.ControllerName != controller {
			parents = append(parents, p)
		}
	}
	hr.Status.Parents = parents
	return c.Status().Update(ctx, hr)
}
