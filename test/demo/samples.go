package demo

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
)

// IngressIP is the load balancer address the demo gives the Istio ingress gateway.
const IngressIP = "192.0.2.10"

// sample is one object of a sample file.
type sample struct {
	file string
	obj  *unstructured.Unstructured
}

// readObjects reads every document of the YAML files matching pattern.
func readObjects(pattern string) ([]sample, error) {
	files, err := filepath.Glob(pattern)
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var out []sample
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		for _, doc := range bytes.Split(raw, []byte("\n---")) {
			js, err := yaml.YAMLToJSON(doc)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", f, err)
			}
			u := &unstructured.Unstructured{}
			if u.UnmarshalJSON(js) == nil && u.GetKind() != "" {
				out = append(out, sample{file: filepath.Base(f), obj: u})
			}
		}
	}
	return out, nil
}

// applySamples creates the samples as the canvas would: the Component first, its
// ExposedAPIs owned by it, then the entries the component operator lists in its status.
// applySamples creates the samples, each ExposedAPI first passed to prepare.
func applySamples(ctx context.Context, c client.Client, dir string, prepare func(*unstructured.Unstructured)) error {
	samples, err := readObjects(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return err
	}
	sort.SliceStable(samples, func(i, j int) bool { return rank(samples[i].obj) < rank(samples[j].obj) })
	var comp *unstructured.Unstructured
	var apis []*unstructured.Unstructured
	for _, s := range samples {
		o := s.obj
		switch o.GetKind() {
		case "Component":
			comp = o
		case "ExposedAPI":
			if comp != nil {
				o.SetOwnerReferences([]metav1.OwnerReference{{APIVersion: "oda.tmforum.org/v1", Kind: "Component", Name: comp.GetName(), UID: comp.GetUID()}})
			}
			prepare(o)
			apis = append(apis, o)
		}
		if err := c.Create(ctx, o); err != nil {
			return fmt.Errorf("creating %s %s: %w", o.GetKind(), o.GetName(), err)
		}
	}
	if err := giveGatewayAnAddress(ctx, c); err != nil {
		return err
	}
	if comp == nil {
		return nil
	}
	return listAPIsOnComponent(ctx, c, comp, apis)
}

// rank orders creation: namespaces, then plain objects, the Component, the ExposedAPIs.
func rank(o *unstructured.Unstructured) int {
	switch o.GetKind() {
	case "Namespace":
		return 0
	case "Component":
		return 2
	case "ExposedAPI":
		return 3
	}
	return 1
}

func giveGatewayAnAddress(ctx context.Context, c client.Client) error {
	svc := &corev1.Service{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: "istio-system", Name: "istio-ingressgateway"}, svc); err != nil {
		return fmt.Errorf("the samples' ingress gateway Service: %w", err)
	}
	svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: IngressIP}}
	return c.Status().Update(ctx, svc)
}

// listAPIsOnComponent writes the entries the component operator would: name and uid of
// each ExposedAPI in the array of its segment.
func listAPIsOnComponent(ctx context.Context, c client.Client, comp *unstructured.Unstructured, apis []*unstructured.Unstructured) error {
	lists := map[string][]any{}
	for _, a := range apis {
		seg, _, _ := unstructured.NestedString(a.Object, "spec", "segment")
		lists[segmentList(seg)] = append(lists[segmentList(seg)], map[string]any{"name": a.GetName(), "uid": string(a.GetUID())})
	}
	status := map[string]any{"summary/status": map[string]any{"deployment_status": "Complete"}}
	for k, v := range lists {
		status[k] = v
	}
	comp.Object["status"] = status
	return c.Status().Update(ctx, comp)
}

func segmentList(segment string) string {
	switch segment {
	case odav1.SegmentManagement:
		return "managementAPIs"
	case odav1.SegmentSecurity:
		return "securityAPIs"
	}
	return "coreAPIs"
}

// Refusal is what the API server said to one invalid sample.
type Refusal struct {
	File, Name, Message string
}

// applyInvalid tries each invalid sample and records why it was refused.
func applyInvalid(ctx context.Context, c client.Client, dir string) ([]Refusal, error) {
	samples, err := readObjects(filepath.Join(dir, "invalid", "*.yaml"))
	if err != nil {
		return nil, err
	}
	var out []Refusal
	for _, s := range samples {
		r := Refusal{File: "config/samples/invalid/" + s.file, Name: s.obj.GetName()}
		if err := c.Create(ctx, s.obj); err != nil {
			r.Message = err.Error()
		}
		out = append(out, r)
	}
	return out, nil
}
