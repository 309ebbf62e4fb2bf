package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The bench's operator identity is the service account the chart makes for release
// "bench" in namespace "bench": the chart's FlowSchema matches it as it would in a cluster.
const (
	operatorAccountNamespace = "bench"
	operatorAccount          = "bench-api-operator-istio"
)

// ownLevel is the operator converging in the priority level of the chart's flowControl
// values, with the other client beside it.
type ownLevel struct {
	shares   int64
	conv     convergence
	other    other
	apf      apf
	progress []sample // APIs converged over time
}

// chartFlowControl renders the chart's FlowSchema and PriorityLevelConfiguration
// (flowControl.enabled) for the bench's operator and creates them; remove deletes them.
func chartFlowControl(ctx context.Context, p *plane, c config) (shares int64, remove func() error, err error) {
	args := []string{"template", "bench", filepath.Join(c.root, "charts", "api-operator-istio"),
		"--namespace", operatorAccountNamespace, "--set", "flowControl.enabled=true", "--show-only", "templates/flowcontrol.yaml"}
	if c.apfShares > 0 {
		args = append(args, "--set", fmt.Sprintf("flowControl.nominalConcurrencyShares=%d", c.apfShares))
	}
	out, err := exec.CommandContext(ctx, filepath.Join(c.root, "bin", "helm"), args...).Output()
	if err != nil {
		return 0, nil, fmt.Errorf("rendering the chart's flowControl (make helm puts helm in bin/): %w", err)
	}
	objs, err := decodeAll(out)
	if err != nil {
		return 0, nil, err
	}
	if len(objs) != 2 {
		return 0, nil, fmt.Errorf("the chart's flowControl rendered %d objects, want a FlowSchema and a PriorityLevelConfiguration", len(objs))
	}
	for _, o := range objs {
		if o.GetKind() == "PriorityLevelConfiguration" {
			v, _, _ := unstructured.NestedFieldNoCopy(o.Object, "spec", "limited", "nominalConcurrencyShares")
			shares = toInt64(v)
		}
		if err := p.admin.Create(ctx, o); err != nil {
			return 0, nil, err
		}
	}
	remove = func() error {
		var errs []error
		for _, o := range objs {
			errs = append(errs, client.IgnoreNotFound(p.admin.Delete(context.Background(), o)))
		}
		return errors.Join(errs...)
	}
	return shares, remove, waitForLevel(ctx, p, operatorAccount)
}

func decodeAll(raw []byte) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(raw), 4096)
	var out []*unstructured.Unstructured
	for {
		u := &unstructured.Unstructured{}
		err := dec.Decode(&u.Object)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if len(u.Object) > 0 {
			out = append(out, u)
		}
	}
}

// waitForLevel waits until the API server's flow control has seats for level.
func waitForLevel(ctx context.Context, p *plane, level string) error {
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		a, err := apfLevel(ctx, p, level, level)
		if err != nil {
			return err
		}
		if a.seats > 0 {
			return nil
		}
	}
	return fmt.Errorf("the API server gave priority level %s no seats in 30 s", level)
}

// ownLevelRun converges n fresh APIs with the operator's requests in the chart's priority
// level, while the other client runs.
func ownLevelRun(ctx context.Context, p *plane, c config, n int) (*ownLevel, error) {
	ns := fmt.Sprintf("bench-own-level-%d", n)
	say("N=%d: the operator in its own priority level (the chart's flowControl): fixtures", n)
	if _, err := fixtures(ctx, p, ns, n); err != nil {
		return nil, err
	}
	shares, remove, err := chartFlowControl(ctx, p, c)
	if remove != nil {
		defer func() {
			if err := remove(); err != nil {
				say("removing the chart's flowControl objects: %v", err)
			}
		}()
	}
	if err != nil {
		return nil, err
	}
	before, err := apfLevel(ctx, p, operatorAccount, operatorAccount)
	if err != nil {
		return nil, err
	}
	say("N=%d: the operator in its own priority level", n)
	conv, o, progress, err := besideOther(ctx, p, c, ns, n)
	res := &ownLevel{shares: shares, conv: conv, other: o, progress: progress}
	if err != nil {
		return res, err
	}
	after, err := apfLevel(ctx, p, operatorAccount, operatorAccount)
	res.apf = after.since(before)
	say("N=%d: operator in its own priority level %s", n, conv.operator.Round(time.Millisecond))
	return res, err
}

// toInt64 is a number as YAML decoding left it.
func toInt64(v any) int64 {
	switch n := v.(type) {
	case int64:
		return n
	case float64:
		return int64(n)
	}
	return 0
}
