package policies

import (
	"cmp"
	"context"
	"time"

	"google.golang.org/protobuf/proto"
	securityapi "istio.io/api/security/v1beta1"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/internal/policy"
)

// A route that moves (a new path or host, CORS turned on or off) is written after Widen
// has made its AuthorizationPolicy match both what it matched and what the spec asks for,
// so that neither the requests the route took nor those it takes now pass unchecked. The
// gateway's proxies get the route and the policy in separate pushes, in no set order, so
// Ensure narrows the policy to the spec only once the move has had MoveSettle to reach
// them; the time of the widening is kept on the policy, so that a restart keeps to it.
const widenedAnnotation = "oda.tmforum.org/token-checks-widened-at"

// defaultMoveSettle is well beyond istiod's longest debounce of a push (10 s by default).
const defaultMoveSettle = 30 * time.Second

func (e *Extension) moveSettle() time.Duration { return cmp.Or(e.MoveSettle, defaultMoveSettle) }

// Widen makes the API's AuthorizationPolicies match the requests they match now as well as
// those spec asks to check, before the route is written. It tells how long they stay
// widened (0 when they are not), for the API to be looked at again then.
func (e *Extension) Widen(ctx context.Context, api *odav1.ExposedAPI, spec *odav1.ExposedAPISpec) (time.Duration, error) {
	if !controllerutil.ContainsFinalizer(api, Finalizer) || e.Routes.Route(api.Namespace, spec).Internal ||
		!policy.KeyVerification(spec) || !e.Settings.Auth.Enabled() {
		return 0, nil
	}
	places, f, err := e.places(ctx, api)
	if err != nil || f != nil {
		return 0, err
	}
	var left time.Duration
	for _, at := range places {
		d, err := e.widenAt(ctx, api, spec, at)
		if err != nil {
			return 0, err
		}
		left = max(left, d)
	}
	return left, nil
}

func (e *Extension) widenAt(ctx context.Context, api *odav1.ExposedAPI, spec *odav1.ExposedAPISpec, at place) (time.Duration, error) {
	meta := metav1.ObjectMeta{Namespace: at.Namespace, Name: gatewayName(api), Labels: gatewayLabels(api)}
	want := e.authorizationPolicy(api, spec, at, &meta)
	stored := &securityv1.AuthorizationPolicy{}
	err := e.APIReader.Get(ctx, client.ObjectKeyFromObject(want), stored)
	if apierrors.IsNotFound(err) || err == nil && !names(stored, api) {
		return 0, nil // nothing of ours to widen: Ensure makes it, or reports what is in the way
	}
	if err != nil {
		return 0, err
	}
	union, ok := coverBoth(&stored.Spec, &want.Spec)
	switch {
	case !ok:
		return 0, nil // it changes beyond what it matches (its issuer, its gateway): Ensure writes it
	case union == nil:
		return e.settleLeft(stored), nil
	}
	want.Spec.Rules[0].To = union
	want.Annotations = map[string]string{widenedAnnotation: time.Now().UTC().Format(time.RFC3339)}
	want.ResourceVersion = stored.ResourceVersion
	return e.moveSettle(), e.Client.Update(ctx, want)
}

// stillMoving tells whether stored is a widened AuthorizationPolicy that covers want, and
// is to stay so while the move settles.
func (e *Extension) stillMoving(stored, want client.Object) bool {
	s, ok := stored.(*securityv1.AuthorizationPolicy)
	w, ok2 := want.(*securityv1.AuthorizationPolicy)
	if !ok || !ok2 || e.settleLeft(s) == 0 {
		return false
	}
	union, covers := coverBoth(&s.Spec, &w.Spec)
	return covers && union == nil
}

// settleLeft is how long a widened policy stays so; 0 for one that is not widened.
func (e *Extension) settleLeft(ap *securityv1.AuthorizationPolicy) time.Duration {
	at, err := time.Parse(time.RFC3339, ap.Annotations[widenedAnnotation])
	if err != nil {
		return 0
	}
	return max(0, time.Until(at.Add(e.moveSettle())))
}

// coverBoth, for two policies alike but for the operations their one rule matches, is the
// operations of both: nil when stored's already cover want's. It is not ok for policies
// that differ otherwise.
func coverBoth(stored, want *securityapi.AuthorizationPolicy) ([]*securityapi.Rule_To, bool) {
	if len(stored.Rules) != 1 || len(want.Rules) != 1 {
		return nil, false
	}
	s, w := proto.Clone(stored).(*securityapi.AuthorizationPolicy), proto.Clone(want).(*securityapi.AuthorizationPolicy)
	s.Rules[0].To, w.Rules[0].To = nil, nil
	if !proto.Equal(s, w) {
		return nil, false
	}
	var added []*securityapi.Rule_To
	for _, to := range want.Rules[0].To {
		if !containsTo(stored.Rules[0].To, to) {
			added = append(added, to)
		}
	}
	if added == nil {
		return nil, true
	}
	return append(append([]*securityapi.Rule_To{}, stored.Rules[0].To...), added...), true
}

func containsTo(list []*securityapi.Rule_To, to *securityapi.Rule_To) bool {
	for _, t := range list {
		if proto.Equal(t, to) {
			return true
		}
	}
	return false
}
