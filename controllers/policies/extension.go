// Package policies makes the Istio objects an ExposedAPI's policies need beside its route,
// and reports on the API what is in force and what is not.
package policies

import (
	"context"
	"strings"
	"sync"
	"time"

	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/controllers/exposedapi"
	"github.com/oda-canvas/api-operator-istio/internal/policy"
	"github.com/oda-canvas/api-operator-istio/internal/routes"
)

// ConditionPoliciesProgrammed lists the policies in force and those that are not; it is
// False only when a policy the user enabled is not in force.
const ConditionPoliciesProgrammed = "PoliciesProgrammed"

// Reasons of ConditionPoliciesProgrammed.
const (
	ReasonNoPolicies        = "NoPolicies"
	ReasonPoliciesEnforced  = "PoliciesEnforced"
	ReasonPolicyNotEnforced = "PolicyNotEnforced"
	ReasonPoliciesWithdrawn = "PoliciesWithdrawn"
	ReasonPoliciesKept      = "PoliciesKept"
)

// The label of every child of this operator, which its caches select: exposedapi's.
const managedByLabel, managedBy = exposedapi.ManagedByLabel, exposedapi.ManagedByValue

// Extension is the exposedapi.Extension of the policies.
type Extension struct {
	Client client.Client
	// APIReader reads the objects in the gateway's namespace, which the cache may not
	// cover; they are read only for the APIs that have them.
	APIReader client.Reader
	Settings  policy.Settings
	// Routes tells an API of an internal segment, which the gateway's policies do not reach.
	Routes  routes.Settings
	Gateway Gateway
	// Kubernetes finds the Gateway API Gateway of the routes in HTTPRoute mode, where the
	// token checks attach to it; nil in VirtualService mode.
	Kubernetes KubernetesGateways
	Events     recorder.EventRecorder
	// MoveSettle is how long the token checks of a route that moved cover both sides of the
	// move (see Widen); 0: 30 s.
	MoveSettle time.Duration

	// swept is, per API uid, the namespace its objects went to when they were last looked
	// for everywhere else by label (labelledNamespaces): until the ingress gateway's
	// namespace changes none can appear elsewhere, so that cluster-wide read is made once
	// per API and move, not on every reconcile.
	swept sync.Map
	// handed is, per API uid, what Widen read of its objects on the gateway, for Ensure
	// of the same reconcile (handedOn).
	handed sync.Map
}

// Name names the extension in errors.
func (e *Extension) Name() string { return "policies" }

// ConditionType is ConditionPoliciesProgrammed.
func (e *Extension) ConditionType() string { return ConditionPoliciesProgrammed }

// Ensure makes the policy objects the spec asks for, removes those it no longer asks for,
// and reports.
func (e *Extension) Ensure(ctx context.Context, api *odav1.ExposedAPI, spec *odav1.ExposedAPISpec) (*metav1.Condition, error) {
	ctx = withHandedOn(ctx, e.takeHandedOn(ctx, api))
	internal := e.Routes.Route(api.Namespace, spec).Internal
	findings := policy.Report(spec, e.Settings)
	if internal {
		findings = policy.InternalReport(spec)
	}
	f, err := e.ensureDestinationRule(ctx, api, spec)
	if err == nil && !internal {
		f, err = e.streamOnGateway(ctx, api, f)
	}
	if err != nil {
		return nil, err
	}
	if f != nil {
		findings = append(findings, *f)
	}
	if internal {
		err = e.removeGatewayObjects(ctx, api)
	} else {
		var onGateway []policy.Finding
		onGateway, err = e.ensureGatewayObjects(ctx, api, spec)
		findings = append(findings, onGateway...)
	}
	if err != nil {
		return nil, err
	}
	c := condition(findings)
	e.announce(api, c, findings)
	return c, nil
}

// Withdraw, for an API whose spec is invalid, keeps its policy objects: its VirtualService
// keeps the last accepted route, which must not lose its token checks. For an API whose
// route went to another (a conflict), it removes them.
func (e *Extension) Withdraw(ctx context.Context, api *odav1.ExposedAPI, _ *odav1.ExposedAPISpec, reason string) (*metav1.Condition, error) {
	if reason == exposedapi.ReasonInvalidSpec {
		return &metav1.Condition{Type: ConditionPoliciesProgrammed, Status: metav1.ConditionFalse, Reason: ReasonPoliciesKept,
			Message: "the spec is not accepted: the policies of the last accepted spec stay with its route; see the Accepted condition"}, nil
	}
	if err := e.deleteDestinationRule(ctx, api); err != nil {
		return nil, err
	}
	if err := e.removeGatewayObjects(ctx, api); err != nil {
		return nil, err
	}
	return &metav1.Condition{Type: ConditionPoliciesProgrammed, Status: metav1.ConditionFalse, Reason: ReasonPoliciesWithdrawn,
		Message: "no policy object while the route is not this API's (" + reason + "); see the Accepted condition"}, nil
}

// Finalize removes the objects on the gateway; the DestinationRule goes with its
// owner. Orphaned children keep the route, and with it its token checks.
func (e *Extension) Finalize(ctx context.Context, api *odav1.ExposedAPI, orphaned bool) error {
	if orphaned {
		logf.FromContext(ctx).Info("children orphaned: the objects on the gateway stay with the route", "labels", gatewayLabels(api))
		return e.dropFinalizer(ctx, api)
	}
	return e.removeGatewayObjects(ctx, api)
}

func condition(findings []policy.Finding) *metav1.Condition {
	c := &metav1.Condition{Type: ConditionPoliciesProgrammed, Status: metav1.ConditionTrue}
	if len(findings) == 0 {
		c.Reason, c.Message = ReasonNoPolicies, "the spec asks for no policy"
		return c
	}
	var in, out []string
	for _, f := range findings {
		if f.Enforced {
			in = append(in, f.Text())
		} else {
			out = append(out, f.Text())
		}
	}
	c.Reason = ReasonPoliciesEnforced
	var parts []string
	if len(in) > 0 {
		parts = append(parts, "enforced: "+strings.Join(in, "; "))
	}
	if len(out) > 0 {
		c.Status, c.Reason = metav1.ConditionFalse, ReasonPolicyNotEnforced
		parts = append(parts, "not enforced: "+strings.Join(out, "; "))
	}
	c.Message = strings.Join(parts, ". ")
	return c
}

// announce records an Event for each field newly not in force: one the condition on the
// API does not already name.
func (e *Extension) announce(api *odav1.ExposedAPI, c *metav1.Condition, findings []policy.Finding) {
	if e.Events == nil {
		return
	}
	var said string
	if old := meta.FindStatusCondition(api.Status.Conditions, ConditionPoliciesProgrammed); old != nil {
		said = old.Message
	}
	for _, f := range findings {
		if !f.Enforced && !strings.Contains(said, f.Text()) {
			// The field is the action: events of one reason and action are one series.
			e.Events.Eventf(api, nil, "Warning", ReasonPolicyNotEnforced, f.Field, "%s is not enforced: %s", f.Field, f.Detail)
		}
	}
}

type finding = policy.Finding

// Watches adds the watches of the objects made here to the ExposedAPI controller. A
// DestinationRule's change wakes the other long-lived APIs of its Service too, whose own
// hold its port (streamPorts).
func (e *Extension) Watches(b *builder.Builder) *builder.Builder {
	return b.Owns(&networkingv1.DestinationRule{}).
		Watches(&networkingv1.DestinationRule{}, handler.EnqueueRequestsFromMapFunc(e.streamingAPIsOfHost))
}

// streamingAPIsOfHost are the long-lived APIs of the Service a DestinationRule is for.
func (e *Extension) streamingAPIsOfHost(ctx context.Context, o client.Object) []reconcile.Request {
	dr, ok := o.(*networkingv1.DestinationRule)
	if !ok {
		return nil
	}
	var list odav1.ExposedAPIList
	if err := e.Client.List(ctx, &list, client.InNamespace(dr.Namespace), client.UnsafeDisableDeepCopy,
		client.MatchingFields{exposedapi.ImplementationIndex: dr.Spec.Host}); err != nil {
		logf.FromContext(ctx).Error(err, "listing ExposedAPIs from the cache")
		return nil
	}
	var reqs []reconcile.Request
	for i := range list.Items {
		if streams(list.Items[i].Spec) {
			reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
		}
	}
	return reqs
}
