package exposedapi

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/api/v1/validation"
)

// wantedStatus is the status that tells the truth about what observe saw and act did.
func (r *Reconciler) wantedStatus(api *odav1.ExposedAPI, obs *observed) odav1.ExposedAPIStatus {
	st := *api.Status.DeepCopy()
	st.Implementation = &odav1.ImplementationStatus{Ready: obs.ready}
	switch {
	case obs.owner != nil, obs.route.Absent:
		st.APIStatus = nil // the route was withdrawn, never made, or is not ours
	case len(obs.invalid) > 0 && obs.route.UID == "":
		st.APIStatus = nil // the route an invalid spec kept is gone: nothing to reach
	case obs.accepted() && obs.route.UID != "" && !obs.routeHeld:
		st.APIStatus = apiStatus(api, obs)
	}
	// An invalid spec that keeps its route, or a route held as it is, keeps the last
	// apiStatus: the route it describes is still in place.
	for _, c := range r.conditions(api, obs) {
		c.ObservedGeneration = api.Generation
		meta.SetStatusCondition(&st.Conditions, c)
	}
	for _, t := range obs.extGone {
		meta.RemoveStatusCondition(&st.Conditions, t)
	}
	return st
}

// apiStatus is R4.1/R4.2: the route and the URL it is reachable at.
func apiStatus(api *odav1.ExposedAPI, obs *observed) *odav1.APIStatus {
	spec := &obs.spec
	s := &odav1.APIStatus{
		Name: api.Name, UID: string(obs.route.UID), Path: spec.Path, Port: spec.Port,
		Implementation: spec.Implementation,
	}
	if obs.claim.Internal {
		return meshStatus(s, obs)
	}
	if obs.route.Address == "" {
		return s
	}
	host := obs.route.Address
	if h := validation.NormalizeHostname(spec.Hostname); h != "" {
		host = h
	}
	base := "https://" + urlHost(host) + obs.route.PortSuffix
	s.URL = base + spec.Path
	if spec.DeveloperUI != "" {
		s.DeveloperUI = base + spec.DeveloperUI
	}
	s.IP = obs.route.Address
	return s
}

// meshStatus is the URL of an internal API: its Service's cluster name and port, plain
// http as the sidecars speak to each other (mTLS is theirs, not the URL's).
func meshStatus(s *odav1.APIStatus, obs *observed) *odav1.APIStatus {
	base := fmt.Sprintf("http://%s:%d", obs.claim.Host, obs.spec.Port)
	s.URL = base + obs.spec.Path
	if obs.spec.DeveloperUI != "" {
		s.DeveloperUI = base + obs.spec.DeveloperUI
	}
	return s
}

func (r *Reconciler) conditions(api *odav1.ExposedAPI, obs *observed) []metav1.Condition {
	accepted := r.acceptedCondition(obs)
	programmed := programmedCondition(obs, accepted)
	ready := readyCondition(obs, programmed)
	return append([]metav1.Condition{accepted, programmed, ready}, obs.extConds...)
}

func (r *Reconciler) acceptedCondition(obs *observed) metav1.Condition {
	switch {
	case len(obs.invalid) > 0:
		return cond(ConditionAccepted, false, ReasonInvalidSpec, obs.invalid.ToAggregate().Error())
	case obs.owner != nil:
		return cond(ConditionAccepted, false, ReasonRouteConflict, fmt.Sprintf(
			"route %s is already exposed by ExposedAPI %s (the oldest claimant wins); change spec.path or spec.hostname",
			routeDescription(obs), client.ObjectKeyFromObject(obs.owner)))
	}
	return cond(ConditionAccepted, true, ReasonValid, "spec is valid and route "+routeDescription(obs)+" is free")
}

func programmedCondition(obs *observed, accepted metav1.Condition) metav1.Condition {
	if obs.route.Programmed.Type == "" {
		return cond(ConditionProgrammed, false, ReasonNotAccepted, "no route: "+accepted.Message)
	}
	return obs.route.Programmed
}

func readyCondition(obs *observed, programmed metav1.Condition) metav1.Condition {
	switch {
	case !obs.accepted():
		return cond(ConditionReady, false, ReasonNotAccepted, "the spec is not accepted: see the Accepted condition")
	case programmed.Status != metav1.ConditionTrue:
		return cond(ConditionReady, false, ReasonNotProgrammed, programmed.Message)
	case obs.route.Address == "":
		return cond(ConditionReady, false, ReasonNoIngressAddress, obs.route.NoAddress)
	case !obs.ready:
		return cond(ConditionReady, false, ReasonImplementationNotReady,
			fmt.Sprintf("Service %s has no ready endpoint", obs.spec.Implementation))
	}
	for _, c := range obs.extConds {
		if c.Status == metav1.ConditionFalse {
			return cond(ConditionReady, false, c.Reason, c.Message)
		}
	}
	return cond(ConditionReady, true, ReasonReady, "reachable at its URL and the implementation is ready")
}

func cond(t string, ok bool, reason, msg string) metav1.Condition {
	s := metav1.ConditionFalse
	if ok {
		s = metav1.ConditionTrue
	}
	return metav1.Condition{Type: t, Status: s, Reason: reason, Message: msg}
}

// writeStatus writes the status obs calls for once, and only when it changed.
func (r *Reconciler) writeStatus(ctx context.Context, api *odav1.ExposedAPI, obs *observed) (ctrl.Result, error) {
	return r.patchStatus(ctx, api, r.wantedStatus(api, obs), obs.refusals())
}

// patchStatus writes want as api's status, only when it changed; refusals are the condition
// types recorded as Warning Events when they turn False (recordRefusals). A write that
// conflicts, or finds the API gone, is left to the event of the newer object.
func (r *Reconciler) patchStatus(ctx context.Context, api *odav1.ExposedAPI, want odav1.ExposedAPIStatus, refusals []string) (ctrl.Result, error) {
	if equality.Semantic.DeepEqual(api.Status, want) {
		return ctrl.Result{}, nil
	}
	next := api.DeepCopy()
	next.Status = want
	bumps, err := r.Status.BumpsGeneration(api)
	if err != nil {
		return ctrl.Result{}, err
	}
	if bumps {
		// Without a status subresource this very write increments the generation.
		for i := range next.Status.Conditions {
			next.Status.Conditions[i].ObservedGeneration = api.Generation + 1
		}
	}
	err = r.Status.Patch(ctx, next, client.MergeFromWithOptions(api, client.MergeFromWithOptimisticLock{}))
	if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
		// The newer object's event brings us back; this backs off if it does not come.
		//lint:ignore SA1019 a rate-limited requeue, not a poll, is what is wanted
		return ctrl.Result{Requeue: true}, nil
	}
	if err == nil {
		r.recordRefusals(api, api.Status.Conditions, want.Conditions, refusals)
		if next.ResourceVersion != api.ResourceVersion {
			// A write that stored nothing makes no version for the cache to catch up to.
			r.writes.wrote(client.ObjectKeyFromObject(api), api.ResourceVersion, next.ResourceVersion)
		}
		logf.FromContext(ctx).V(1).Info("status written", "ready", meta.IsStatusConditionTrue(want.Conditions, ConditionReady))
	}
	return ctrl.Result{}, err
}

// refusals are the types of the conditions that, False, say the operator will not route
// the API, or make a child, as it stands: a person has to act. A False Accepted condition
// always is one (an invalid spec, a route another API holds); so is a route write failing on
// the API server's side (its platform team has to act); Ready only repeats another
// condition's reason, and a wait (for an address, endpoints, a mesh route) is not one.
func (obs *observed) refusals() []string {
	out := []string{ConditionAccepted}
	if obs.route.Refused || obs.routeWriteErr != nil {
		out = append(out, ConditionProgrammed)
	}
	return append(out, obs.extRefused...)
}

// recordRefusals records each refusal as a Warning Event when a condition turns to it,
// once, where kubectl get events shows it beside the namespace's other troubles.
func (r *Reconciler) recordRefusals(api *odav1.ExposedAPI, was, now []metav1.Condition, refused []string) {
	for _, c := range now {
		if c.Status != metav1.ConditionFalse || !slices.Contains(refused, c.Type) {
			continue
		}
		if old := meta.FindStatusCondition(was, c.Type); old != nil && old.Status == c.Status && old.Reason == c.Reason {
			continue
		}
		r.event(api, "Warning", c.Reason, "Refuse", "%s", note(c.Message))
	}
}

// maxNote is the longest note an events.k8s.io Event may have.
const maxNote = 1024

// note is msg cut to fit an Event (the whole of it is in the condition).
func note(msg string) string {
	if len(msg) <= maxNote {
		return msg
	}
	const more = " ... (see the condition)"
	cut := maxNote - len(more)
	for cut > 0 && !utf8.RuneStart(msg[cut]) {
		cut--
	}
	return msg[:cut] + more
}

// withdrawnStatus is the status of an API being deleted whose route was withdrawn (finalize),
// told as a conflict loser's is: no apiStatus, so no URL (nor Component entry url), and
// Programmed and Ready False; so are the extensions' conditions (extTypes), whose work is
// undone by now or goes with the API.
func withdrawnStatus(api *odav1.ExposedAPI, extTypes []string) odav1.ExposedAPIStatus {
	st := *api.Status.DeepCopy()
	st.APIStatus = nil
	obs := &observed{route: Route{Absent: true, Programmed: cond(ConditionProgrammed, false, ReasonDeleting,
		"the ExposedAPI is being deleted: its route is withdrawn, while a finalizer of another controller keeps the ExposedAPI")}}
	conds := []metav1.Condition{obs.route.Programmed, readyCondition(obs, obs.route.Programmed)}
	for _, t := range extTypes {
		if meta.FindStatusCondition(st.Conditions, t) != nil {
			conds = append(conds, cond(t, false, ReasonDeleting,
				"the ExposedAPI is being deleted: what this condition reported is undone, or goes with the ExposedAPI"))
		}
	}
	for _, c := range conds {
		c.ObservedGeneration = api.Generation
		meta.SetStatusCondition(&st.Conditions, c)
	}
	return st
}

func lower(s string) string { return strings.ToLower(s) }
