package main

import (
	"bytes"
	"context"
	"fmt"
)

// apf is what the API server's API Priority and Fairness says about a priority level.
type apf struct {
	seats                float64  // nominal concurrency limit
	dispatched, rejected float64  // requests of the level
	byOperator           float64  // dispatched from schema
	schema               string   // the FlowSchema that classifies the operator
	wait                 []bucket // time requests waited in its queues
}

// priorityLevel and flowSchema are where the default FlowSchemas put the operator and the
// other client, both service accounts.
const (
	priorityLevel = "workload-low"
	flowSchema    = "service-accounts"
)

// apfSnapshot reads the API server's flow control metrics for the default priority level.
func apfSnapshot(ctx context.Context, p *plane) (apf, error) {
	return apfLevel(ctx, p, priorityLevel, flowSchema)
}

// apfLevel reads the API server's flow control metrics for a priority level; byOperator
// counts the requests that flowSchema put there.
func apfLevel(ctx context.Context, p *plane, level, schema string) (apf, error) {
	raw, err := apiserverMetrics(ctx, p)
	if err != nil {
		return apf{}, err
	}
	a := apf{schema: schema}
	waits := map[float64]float64{}
	err = parseMetrics(bytes.NewReader(raw), func(name, labels string, v float64) {
		if pl, _ := label(labels, "priority_level"); pl != level {
			return
		}
		switch name {
		case "apiserver_flowcontrol_nominal_limit_seats":
			a.seats = v
		case "apiserver_flowcontrol_dispatched_requests_total":
			a.dispatched += v
			if fs, _ := label(labels, "flow_schema"); fs == schema {
				a.byOperator += v
			}
		case "apiserver_flowcontrol_rejected_requests_total":
			a.rejected += v
		case "apiserver_flowcontrol_request_wait_duration_seconds_bucket":
			if ex, _ := label(labels, "execute"); ex == "true" {
				addBucket(waits, labels, v)
			}
		}
	})
	a.wait = sortedBuckets(waits)
	return a, err
}

// since is what happened between before and a.
func (a apf) since(before apf) apf {
	return apf{schema: a.schema, seats: a.seats, dispatched: a.dispatched - before.dispatched, rejected: a.rejected - before.rejected,
		byOperator: a.byOperator - before.byOperator, wait: subtract(a.wait, before.wait)}
}

func (a apf) String() string {
	return fmt.Sprintf("%.0f seats; %.0f requests dispatched (%.0f through FlowSchema %s), %.0f rejected; queue wait p99 %s",
		a.seats, a.dispatched, a.byOperator, a.schema, a.rejected, histogramQuantile(a.wait, 0.99))
}
