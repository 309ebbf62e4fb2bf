package chaos

import (
	"context"
	"fmt"
	"sort"
	"strings"

	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/api/v1/validation"
	"github.com/oda-canvas/api-operator-istio/internal/routes"
)

// settings are the route settings the suite runs the operator with.
var settings = routes.Settings{Gateway: gateway}

// world is every object the invariants look at, read from the API server.
type world struct {
	apis  map[types.UID]*odav1.ExposedAPI
	vss   []*networkingv1.VirtualService
	comps []odav1.Component
	// claims are the claimants of each route key (as internal/routes defines them) and
	// served the VirtualServices that route each key, of an ExposedAPI that still exists.
	claims map[string][]odav1.ExposedAPI
	served map[string][]*networkingv1.VirtualService
}

func (s *scene) read(ctx context.Context) (*world, error) {
	w := &world{apis: map[types.UID]*odav1.ExposedAPI{}, claims: map[string][]odav1.ExposedAPI{}, served: map[string][]*networkingv1.VirtualService{}}
	var apis odav1.ExposedAPIList
	var vss networkingv1.VirtualServiceList
	var comps odav1.ComponentList
	if err := s.p.Client.List(ctx, &apis); err != nil {
		return nil, err
	}
	if err := s.p.Client.List(ctx, &vss); err != nil {
		return nil, err
	}
	if err := s.p.Client.List(ctx, &comps); err != nil {
		return nil, err
	}
	w.vss, w.comps = vss.Items, comps.Items
	for i := range apis.Items {
		a := &apis.Items[i]
		w.apis[a.UID] = a
		if key, ok := claim(a.Namespace, &a.Spec); ok && a.DeletionTimestamp == nil {
			w.claims[key] = append(w.claims[key], *a)
		}
	}
	for _, vs := range w.vss {
		owner := w.ownerOf(vs)
		if owner == nil {
			continue // no controller, or one that is gone: the garbage collector's (none runs here)
		}
		key := routes.ServedKey(vs)
		w.served[key] = append(w.served[key], vs)
		if !claims(w.claims[key], owner.UID) {
			w.claims[key] = append(w.claims[key], *owner)
		}
	}
	return w, nil
}

// ownerOf is the existing ExposedAPI that controls vs, or nil.
func (w *world) ownerOf(vs *networkingv1.VirtualService) *odav1.ExposedAPI {
	ref := metav1.GetControllerOf(vs)
	if ref == nil || ref.Kind != "ExposedAPI" {
		return nil
	}
	return w.apis[ref.UID]
}

func claims(apis []odav1.ExposedAPI, uid types.UID) bool {
	for i := range apis {
		if apis[i].UID == uid {
			return true
		}
	}
	return false
}

// claim is the route key a spec asks for, when it is valid (normalised as SPEC R1 says
// the operator reads it).
func claim(namespace string, in *odav1.ExposedAPISpec) (string, bool) {
	spec := *in.DeepCopy()
	spec.Path = validation.NormalizePath(spec.Path)
	spec.APIType = strings.ToLower(spec.APIType)
	if spec.Segment == "" {
		spec.Segment = odav1.SegmentCore
	}
	if len(validation.ValidateSpec(&spec, field.NewPath("spec"))) > 0 {
		return "", false
	}
	return settings.Route(namespace, &spec).Key(), true
}

// violations are every broken invariant, by the item it concerns (a route key, an API,
// a Component, a foreign object).
func (s *scene) violations(ctx context.Context) (map[string]string, error) {
	w, err := s.read(ctx)
	if err != nil {
		return nil, err
	}
	bad := map[string]string{}
	winners := map[types.UID]*odav1.ExposedAPI{}
	for key, claimants := range w.claims {
		winner := routes.Winner(claimants)
		for i := range claimants {
			winners[claimants[i].UID] = winner
		}
		if problem := routeProblem(w, key, winner); problem != "" {
			bad["route "+key] = problem
		}
	}
	for _, a := range w.apis {
		if a.DeletionTimestamp != nil {
			continue
		}
		if problem := statusProblem(a, winners[a.UID]); problem != "" {
			bad["ExposedAPI "+a.Namespace+"/"+a.Name] = problem
		}
	}
	for i := range w.comps {
		for item, problem := range entryProblems(w, &w.comps[i]) {
			bad[item] = problem
		}
	}
	if s.foreign != nil {
		for item, problem := range s.foreignProblems(ctx) {
			bad[item] = problem
		}
	}
	return bad, nil
}

// routeProblem: exactly one VirtualService routes key, the winner's, to its implementation.
func routeProblem(w *world, key string, winner *odav1.ExposedAPI) string {
	vss := w.served[key]
	if winner == nil {
		if len(vss) > 0 {
			return fmt.Sprintf("%d VirtualServices route it and no API claims it", len(vss))
		}
		return ""
	}
	if len(vss) != 1 {
		return fmt.Sprintf("%d VirtualServices route it (want 1, of %s/%s): %s", len(vss), winner.Namespace, winner.Name, names(vss))
	}
	vs := vss[0]
	if owner := w.ownerOf(vs); owner.UID != winner.UID {
		return fmt.Sprintf("VirtualService %s/%s of %s routes it, not the winner %s/%s", vs.Namespace, vs.Name, owner.Name, winner.Namespace, winner.Name)
	}
	d := vs.Spec.Http[0].Route
	if len(d) != 1 {
		return fmt.Sprintf("VirtualService %s/%s has %d destinations", vs.Namespace, vs.Name, len(d))
	}
	host, port := d[0].Destination.Host, d[0].Destination.Port.GetNumber()
	if _, valid := claim(winner.Namespace, &winner.Spec); !valid {
		// An API whose spec became invalid keeps its last accepted route: one a valid
		// spec would make.
		if port < 1 || port > 65535 {
			return fmt.Sprintf("VirtualService %s/%s routes to port %d, which no valid spec asks for", vs.Namespace, vs.Name, port)
		}
		return ""
	}
	if host != winner.Spec.Implementation || port != uint32(winner.Spec.Port) {
		return fmt.Sprintf("VirtualService %s/%s routes to %s:%d, not %s:%d", vs.Namespace, vs.Name, host, port, winner.Spec.Implementation, winner.Spec.Port)
	}
	return ""
}

func names(vss []*networkingv1.VirtualService) string {
	var out []string
	for _, vs := range vss {
		out = append(out, vs.Namespace+"/"+vs.Name)
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

// statusProblem: the API's status tells the truth for its current generation. winner is
// the winner of the route it claims.
func statusProblem(a *odav1.ExposedAPI, winner *odav1.ExposedAPI) string {
	for _, t := range []string{"Accepted", "Programmed", "Ready"} {
		c := meta.FindStatusCondition(a.Status.Conditions, t)
		if c == nil {
			return "no " + t + " condition"
		}
		if c.ObservedGeneration != a.Generation {
			return fmt.Sprintf("%s condition of generation %d, the spec's is %d", t, c.ObservedGeneration, a.Generation)
		}
	}
	accepted := meta.FindStatusCondition(a.Status.Conditions, "Accepted")
	_, valid := claim(a.Namespace, &a.Spec)
	switch {
	case !valid:
		if accepted.Reason != "InvalidSpec" {
			return "invalid spec, but Accepted is " + accepted.Reason
		}
	case winner == nil:
		return "valid spec, but no claim on its route"
	case winner.UID != a.UID:
		owner := winner.Namespace + "/" + winner.Name
		if accepted.Reason != "RouteConflict" || !strings.Contains(accepted.Message, owner) {
			return fmt.Sprintf("lost its route to %s, but Accepted is %s: %s", owner, accepted.Reason, accepted.Message)
		}
		if a.Status.APIStatus != nil {
			return "lost its route but has an apiStatus"
		}
	default:
		return winnerProblem(a)
	}
	return ""
}

func winnerProblem(a *odav1.ExposedAPI) string {
	if !meta.IsStatusConditionTrue(a.Status.Conditions, "Ready") {
		c := meta.FindStatusCondition(a.Status.Conditions, "Ready")
		return "owns its route but is not Ready: " + c.Reason + ": " + c.Message
	}
	want := "https://" + address + validation.NormalizePath(a.Spec.Path)
	if a.Status.APIStatus == nil || a.Status.APIStatus.URL != want {
		return fmt.Sprintf("apiStatus %+v, want url %s", a.Status.APIStatus, want)
	}
	if a.Status.Implementation == nil || !a.Status.Implementation.Ready {
		return "implementation not ready in status"
	}
	return ""
}

// entryProblems: each entry of an API says that API's url and readiness.
func entryProblems(w *world, comp *odav1.Component) map[string]string {
	out := map[string]string{}
	for _, list := range [][]odav1.ComponentAPIStatus{comp.Status.CoreAPIs, comp.Status.ManagementAPIs, comp.Status.SecurityAPIs} {
		for _, e := range list {
			a := w.apis[types.UID(e.UID)]
			if a == nil || a.DeletionTimestamp != nil || !childOf(a, comp) {
				continue
			}
			url, ready := "", false
			if a.Status.APIStatus != nil {
				url = a.Status.APIStatus.URL
			}
			if a.Status.Implementation != nil {
				ready = a.Status.Implementation.Ready
			}
			if e.URL != url || e.Ready != ready {
				out["Component "+comp.Namespace+"/"+comp.Name+" entry "+e.Name] = fmt.Sprintf("url %q ready %v, the API says %q %v", e.URL, e.Ready, url, ready)
			}
		}
	}
	return out
}

func (s *scene) foreignProblems(ctx context.Context) map[string]string {
	out := map[string]string{}
	now, err := s.foreignState(ctx)
	if err != nil {
		return map[string]string{"foreign objects": err.Error()}
	}
	for item, was := range s.foreign {
		if now[item] != was {
			out[item] = fmt.Sprintf("changed by someone: was %v, is %v", was, now[item])
		}
	}
	return out
}

// childOf: the Component is the API's parent, its first owner (SPEC R5.1).
func childOf(a *odav1.ExposedAPI, comp *odav1.Component) bool {
	refs := a.OwnerReferences
	return len(refs) > 0 && refs[0].Kind == "Component" && refs[0].UID == comp.UID
}
