package chaos

import (
	"context"
	"fmt"
	"testing"
	"time"

	istioapi "istio.io/api/networking/v1"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// address is the ingress gateway's load balancer address in every scene.
const address = "20.0.0.1"

// scene is what a fault runs on: namespaces with a ready implementation each, the ingress
// gateway, and objects of other owners (a VirtualService, a pod's annotations, a
// Component's own fields) whose state must come through the fault unchanged.
type scene struct {
	p          *plane
	namespaces []string
	foreign    map[string]any // what other owners' objects looked like at the start
	components map[string]types.UID
	idle       time.Duration // how long quiet watches for writes after convergence
}

func newScene(t *testing.T, p *plane, namespaces ...string) *scene {
	t.Helper()
	ctx := context.Background()
	s := &scene{p: p, namespaces: namespaces, components: map[string]types.UID{}, idle: idle}
	p.Gateway(t, address, "")
	for _, ns := range namespaces {
		p.Namespace(t, ns)
		p.Implementation(t, ns, "impl", 8080, true)
		vs := &networkingv1.VirtualService{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "foreign"}}
		vs.Spec = istioapi.VirtualService{Hosts: []string{"*"}, Gateways: []string{gateway}, Http: []*istioapi.HTTPRoute{{
			Match: []*istioapi.HTTPMatchRequest{{Uri: &istioapi.StringMatch{MatchType: &istioapi.StringMatch_Prefix{Prefix: "/foreign-" + ns}}}},
			Route: []*istioapi.HTTPRouteDestination{{Destination: &istioapi.Destination{Host: "impl"}}},
		}}}
		if err := p.Client.Create(ctx, vs); err != nil {
			t.Fatal(err)
		}
		pod := p.Pod(t, ns, "bystander", map[string]string{"app": "bystander"})
		pod.Annotations = map[string]string{"prometheus.io/scrape": "false", "team": "theirs"}
		if err := p.Client.Update(ctx, pod); err != nil {
			t.Fatal(err)
		}
		comp := &odav1.Component{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "shop", Labels: map[string]string{"team": "theirs"}}}
		if err := p.Client.Create(ctx, comp); err != nil {
			t.Fatal(err)
		}
		s.components[ns] = comp.UID
	}
	return s
}

// listEntries writes the Component entries of apis in their namespaces, as the component
// operator does, with a field of its own in each; then takes the snapshot of every
// foreign object that check compares with.
func (s *scene) listEntries(t *testing.T, apis []*odav1.ExposedAPI) {
	t.Helper()
	byNS := map[string][]any{}
	for _, a := range apis {
		byNS[a.Namespace] = append(byNS[a.Namespace], map[string]any{"name": a.Name, "uid": string(a.UID), "owner": "component-operator"})
	}
	for _, ns := range s.namespaces {
		comp := &odav1.Component{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "shop"}}
		s.p.PatchComponentStatus(t, comp, map[string]any{"coreAPIs": byNS[ns], "summary/status": map[string]any{"deployment_status": "Complete"}})
	}
	var err error
	if s.foreign, err = s.foreignState(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// foreignState is what belongs to others: the foreign VirtualServices' resource versions,
// the bystander pods' annotations, and each Component without the three fields of an
// entry that the operator writes (url, developerUI, ready).
func (s *scene) foreignState(ctx context.Context) (map[string]any, error) {
	out := map[string]any{}
	for _, ns := range s.namespaces {
		vs := &networkingv1.VirtualService{}
		if err := s.p.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "foreign"}, vs); err != nil {
			return nil, err
		}
		out["VirtualService "+ns+"/foreign"] = vs.ResourceVersion
		pod := &corev1.Pod{}
		if err := s.p.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "bystander"}, pod); err != nil {
			return nil, err
		}
		out["pod "+ns+"/bystander annotations"] = fmt.Sprint(pod.Annotations)
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(odav1.GroupVersion.WithKind("Component"))
		if err := s.p.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "shop"}, u); err != nil {
			return nil, err
		}
		out["Component "+ns+"/shop"] = componentOthers(u)
	}
	return out, nil
}

// componentOthers is a Component's labels, spec and status with the operator's entry
// fields taken out.
func componentOthers(u *unstructured.Unstructured) string {
	status, _ := u.Object["status"].(map[string]any)
	for _, list := range []string{"coreAPIs", "managementAPIs", "securityAPIs"} {
		entries, _ := status[list].([]any)
		for _, e := range entries {
			if m, ok := e.(map[string]any); ok {
				delete(m, "url")
				delete(m, "developerUI")
				delete(m, "ready")
			}
		}
	}
	return fmt.Sprint(u.GetLabels(), u.Object["spec"], status)
}

// api is an ExposedAPI of Component shop (its label and its first owner) on path, served
// by the scene's implementation.
func (s *scene) api(ns, name, path string) *odav1.ExposedAPI {
	a := harness.API(ns, name, path, "impl", 8080)
	a.Labels[odav1.ComponentNameLabel] = "shop"
	a.OwnerReferences = []metav1.OwnerReference{{APIVersion: odav1.GroupVersion.String(), Kind: "Component", Name: "shop", UID: s.components[ns]}}
	return a
}
