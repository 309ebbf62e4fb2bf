package demo

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
)

// APIRow is one ExposedAPI as the table shows it.
type APIRow struct {
	// Route is the route object the API has, as kind/name.
	Namespace, Name, URL, Route, Conditions string
	Ready                                   bool
}

// ComponentRow is one entry of a Component's API summary.
type ComponentRow struct {
	Component, List, Name, URL string
	Ready                      bool
}

// waitReady waits until every ExposedAPI is Ready and returns the rows.
func waitReady(ctx context.Context, c client.Client, timeout time.Duration) ([]APIRow, error) {
	return pollRows(timeout, "not every ExposedAPI was Ready", func() ([]APIRow, error) { return apiRows(ctx, c) },
		func(r APIRow) bool { return r.Ready })
}

// pollRows reads rows until there are some and every one is done, or timeout passes.
func pollRows[T any](timeout time.Duration, failure string, read func() ([]T, error), done func(T) bool) ([]T, error) {
	deadline := time.Now().Add(timeout)
	for {
		rows, err := read()
		if err != nil {
			return nil, err
		}
		if len(rows) > 0 && !slices.ContainsFunc(rows, func(r T) bool { return !done(r) }) {
			return rows, nil
		}
		if time.Now().After(deadline) {
			return rows, fmt.Errorf("%s within %s: %+v", failure, timeout, rows)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func apiRows(ctx context.Context, c client.Client) ([]APIRow, error) {
	var list odav1.ExposedAPIList
	if err := c.List(ctx, &list); err != nil {
		return nil, err
	}
	rows := make([]APIRow, 0, len(list.Items))
	for i := range list.Items {
		api := &list.Items[i]
		r := APIRow{Namespace: api.Namespace, Name: api.Name, Ready: meta.IsStatusConditionTrue(api.Status.Conditions, "Ready")}
		if api.Status.APIStatus != nil {
			r.URL = api.Status.APIStatus.URL
		}
		if err := c.Get(ctx, client.ObjectKeyFromObject(api), &networkingv1.VirtualService{}); err == nil {
			r.Route = "VirtualService/" + api.Name
		}
		if err := c.Get(ctx, client.ObjectKeyFromObject(api), &gatewayv1.HTTPRoute{}); err == nil {
			r.Route = "HTTPRoute/" + api.Name
		}
		var conds []string
		for _, cd := range api.Status.Conditions {
			conds = append(conds, fmt.Sprintf("%s=%s(%s)", cd.Type, cd.Status, cd.Reason))
		}
		r.Conditions = strings.Join(conds, " ")
		rows = append(rows, r)
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Name < rows[j].Name })
	return rows, nil
}

// components reads the API summaries of every Component, as stored.
// waitComponents waits until every Component entry shows the url and readiness of its API:
// the operator gathers a Component's changes for a second before writing them.
func waitComponents(ctx context.Context, c client.Client, apis []APIRow, timeout time.Duration) ([]ComponentRow, error) {
	want := map[string]APIRow{}
	for _, a := range apis {
		want[a.Name] = a
	}
	return pollRows(timeout, "the Component entries did not match their ExposedAPIs", func() ([]ComponentRow, error) { return components(ctx, c) },
		func(r ComponentRow) bool { return r.URL == want[r.Name].URL && r.Ready == want[r.Name].Ready })
}

func components(ctx context.Context, c client.Client) ([]ComponentRow, error) {
	list := &unstructured.UnstructuredList{}
	list.SetAPIVersion("oda.tmforum.org/v1")
	list.SetKind("ComponentList")
	if err := c.List(ctx, list); err != nil {
		return nil, err
	}
	var rows []ComponentRow
	for _, comp := range list.Items {
		for _, l := range []string{"coreAPIs", "managementAPIs", "securityAPIs"} {
			entries, _, _ := unstructured.NestedSlice(comp.Object, "status", l)
			for _, e := range entries {
				m, _ := e.(map[string]any)
				url, _ := m["url"].(string)
				name, _ := m["name"].(string)
				ready, _ := m["ready"].(bool)
				rows = append(rows, ComponentRow{Component: comp.GetName(), List: l, Name: name, URL: url, Ready: ready})
			}
		}
	}
	return rows, nil
}

func printTable(out io.Writer, res *Result) {
	fmt.Fprintln(out)
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "EXPOSEDAPI\tURL\tREADY\tROUTE\tCONDITIONS")
	for _, r := range res.APIs {
		fmt.Fprintf(w, "%s/%s\t%s\t%v\t%s\t%s\n", r.Namespace, r.Name, r.URL, r.Ready, r.Route, r.Conditions)
	}
	_ = w.Flush()
	fmt.Fprintln(out)
	w = tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "COMPONENT\tSTATUS LIST\tAPI\tURL\tREADY")
	for _, r := range res.Components {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%v\n", r.Component, r.List, r.Name, r.URL, r.Ready)
	}
	_ = w.Flush()
	fmt.Fprintln(out)
}

func printRefusals(out io.Writer, refusals []Refusal) {
	for _, r := range refusals {
		msg := r.Message
		if msg == "" {
			msg = "NOT REFUSED (this is a bug)"
		}
		fmt.Fprintf(out, "  %s\n      %s\n", r.File, msg)
	}
	fmt.Fprintln(out)
}

func printNext(out io.Writer, kubeconfig, kubectl, root string) {
	k := fmt.Sprintf("%s --kubeconfig %s", kubectl, kubeconfig)
	fmt.Fprintf(out, `Try next:
  export KUBECONFIG=%s
  %s get exposedapis -A
  %s describe exposedapi -n components productcatalog-tmf620
  %s get virtualservices,httproutes,servicemonitors -n components -o yaml
  %s get component -n components productcatalog -o jsonpath='{.status}'
  %s apply -f %s/config/samples/invalid/
  %s patch endpointslice -n components productcatalog-api-1 --type=json -p '[{"op":"replace","path":"/endpoints/0/conditions/ready","value":false}]'

`, kubeconfig, k, k, k, k, k, root, k)
}
