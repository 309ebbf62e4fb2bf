package policies

import (
	"cmp"
	"context"
	"reflect"
	"slices"
	"time"

	"google.golang.org/protobuf/proto"
	istioapi "istio.io/api/networking/v1alpha3"
	securityapi "istio.io/api/security/v1beta1"
	networkingv1alpha3 "istio.io/client-go/pkg/apis/networking/v1alpha3"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/internal/policy"
)

// A route that moves (a new path or host, CORS turned on or off) is written after Widen
// has made its AuthorizationPolicy and its rate limit match both what they matched and what
// the spec asks for, so that neither the requests the route took nor those it takes now
// pass unchecked or unlimited. The
// gateway's proxies get the route and the policy in separate pushes, in no set order, so
// Ensure narrows the policy to the spec only once the move has had MoveSettle to reach
// them; the time of the widening is kept on the policy, so that a restart keeps to it.
const widenedAnnotation = "oda.tmforum.org/token-checks-widened-at"

// defaultMoveSettle is well beyond istiod's longest debounce of a push (10 s by default).
const defaultMoveSettle = 30 * time.Second

func (e *Extension) moveSettle() time.Duration { return cmp.Or(e.MoveSettle, defaultMoveSettle) }

// Widen makes the API's objects on the gateway that match its route by what it takes
// (movable) match what they match now as well as what spec asks for, before the route is
// written. It tells how long they stay widened (0 when they are not), for the API to be
// looked at again then.
func (e *Extension) Widen(ctx context.Context, api *odav1.ExposedAPI, spec *odav1.ExposedAPISpec) (time.Duration, error) {
	if !controllerutil.ContainsFinalizer(api, Finalizer) || !e.Guards(api, spec) {
		return 0, nil
	}
	places, f, err := e.places(ctx, api)
	if err != nil || f != nil {
		return 0, err
	}
	handOn := e.startHandOn(ctx, api)
	var left time.Duration
	for _, at := range places {
		objs, err := e.movable(api, spec, at)
		if err != nil {
			return 0, err
		}
		for _, want := range objs {
			d, err := e.widen(ctx, api, want, handOn)
			if err != nil {
				return 0, err
			}
			left = max(left, d)
		}
	}
	return left, nil
}

// movable are the API's objects at one place that match its route by what it takes: the
// AuthorizationPolicy by its host and path, the rate limit's EnvoyFilter by the route's
// name, which holds them.
func (e *Extension) movable(api *odav1.ExposedAPI, spec *odav1.ExposedAPISpec, at place) ([]client.Object, error) {
	meta := metav1.ObjectMeta{Namespace: at.Namespace, Name: gatewayName(api), Labels: gatewayLabels(api)}
	var objs []client.Object
	if policy.KeyVerification(spec) && e.Settings.Auth.Enabled() {
		objs = append(objs, e.authorizationPolicy(api, spec, at, &meta))
	}
	if e.Settings.RateLimit.Local(spec) {
		ef, err := e.routeRateLimit(spec, &meta)
		if err != nil {
			return nil, err
		}
		objs = append(objs, ef)
	}
	return objs, nil
}

// widen widens one object, handing what is stored on to Ensure (see handedOn).
func (e *Extension) widen(ctx context.Context, api *odav1.ExposedAPI, want client.Object, handOn *handedOn) (time.Duration, error) {
	stored := reflect.New(reflect.TypeOf(want).Elem()).Interface().(client.Object)
	err := e.APIReader.Get(ctx, client.ObjectKeyFromObject(want), stored)
	if err == nil {
		handOn.keep(stored)
	}
	if apierrors.IsNotFound(err) || err == nil && !names(stored, api) {
		return 0, nil // nothing of ours to widen: Ensure makes it, or reports what is in the way
	}
	if err != nil {
		return 0, err
	}
	wide, ok := coverBoth(stored, want)
	switch {
	case !ok:
		return 0, nil // it changes beyond what it matches (its issuer, its limit): Ensure writes it
	case wide == nil:
		return e.settleLeft(stored), nil
	}
	wide.SetAnnotations(map[string]string{widenedAnnotation: time.Now().UTC().Format(time.RFC3339)})
	wide.SetResourceVersion(stored.GetResourceVersion())
	if err := e.Client.Update(ctx, wide); err != nil {
		return 0, err
	}
	handOn.keep(wide) // as the API server stored it
	return e.moveSettle(), nil
}

// stillMoving tells whether stored is a widened object that covers want, and is to stay
// so while the move settles.
func (e *Extension) stillMoving(stored, want client.Object) bool {
	if e.settleLeft(stored) == 0 {
		return false
	}
	wide, covers := coverBoth(stored, want)
	return covers && wide == nil
}

// settleLeft is how long a widened object stays so; 0 for one that is not widened.
func (e *Extension) settleLeft(obj client.Object) time.Duration {
	at, err := time.Parse(time.RFC3339, obj.GetAnnotations()[widenedAnnotation])
	if err != nil {
		return 0
	}
	return max(0, time.Until(at.Add(e.moveSettle())))
}

// coverBoth is want widened to match what stored matches too: nil when stored already
// covers want. It is not ok for objects that differ otherwise.
func coverBoth(stored, want client.Object) (client.Object, bool) {
	switch s := stored.(type) {
	case *securityv1.AuthorizationPolicy:
		w := want.(*securityv1.AuthorizationPolicy)
		to, ok := coverOperations(&s.Spec, &w.Spec)
		if !ok || to == nil {
			return nil, ok
		}
		wide := w.DeepCopy()
		wide.Spec.Rules[0].To = to
		return wide, true
	case *networkingv1alpha3.EnvoyFilter:
		w := want.(*networkingv1alpha3.EnvoyFilter)
		patches, ok := coverRoutes(&s.Spec, &w.Spec)
		if !ok || patches == nil {
			return nil, ok
		}
		wide := w.DeepCopy()
		wide.Spec.ConfigPatches = patches
		return wide, true
	}
	return nil, false
}

// coverOperations, for two policies alike but for the operations their one rule matches,
// is the operations of both: nil when stored's already cover want's. It is not ok for
// policies that differ otherwise.
func coverOperations(stored, want *securityapi.AuthorizationPolicy) ([]*securityapi.Rule_To, bool) {
	if len(stored.Rules) != 1 || len(want.Rules) != 1 {
		return nil, false
	}
	s, w := proto.Clone(stored).(*securityapi.AuthorizationPolicy), proto.Clone(want).(*securityapi.AuthorizationPolicy)
	s.Rules[0].To, w.Rules[0].To = nil, nil
	if !proto.Equal(s, w) {
		return nil, false
	}
	return union(stored.Rules[0].To, want.Rules[0].To), true
}

// coverRoutes, for two EnvoyFilters alike but for the routes their patches match, is the
// patches of both: nil when stored's already hold want's. It is not ok for filters that
// differ otherwise, or that patch one route two ways (a new limit is not a move).
func coverRoutes(stored, want *istioapi.EnvoyFilter) ([]*istioapi.EnvoyFilter_EnvoyConfigObjectPatch, bool) {
	s, w := proto.Clone(stored).(*istioapi.EnvoyFilter), proto.Clone(want).(*istioapi.EnvoyFilter)
	s.ConfigPatches, w.ConfigPatches = nil, nil
	if !proto.Equal(s, w) {
		return nil, false
	}
	patches := union(stored.ConfigPatches, want.ConfigPatches)
	for i, p := range patches {
		if slices.ContainsFunc(patches[:i], func(q *istioapi.EnvoyFilter_EnvoyConfigObjectPatch) bool { return proto.Equal(p.Match, q.Match) }) {
			return nil, false
		}
	}
	return patches, true
}

// union is stored then what want holds that stored does not: nil when stored holds it all.
func union[T proto.Message](stored, want []T) []T {
	var added []T
	for _, x := range want {
		if !slices.ContainsFunc(stored, func(y T) bool { return proto.Equal(x, y) }) {
			added = append(added, x)
		}
	}
	if added == nil {
		return nil
	}
	return append(slices.Clone(stored), added...)
}
