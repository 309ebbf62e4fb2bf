package main

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"sort"
	"strings"

	"k8s.io/client-go/kubernetes"
)

// served is what the API server says it served, from its own metrics: requests by verb and
// resource, and the watch events it sent by resource. Read before and after a
// run, it tells which requests a run added to the writes every API needs.
type served struct {
	requests   map[string]float64 // "PATCH exposedapis/status"
	watchBytes map[string]float64 // "exposedapis"
	watchSent  map[string]float64 // events, by resource
}

func servedSnapshot(ctx context.Context, p *plane) (served, error) {
	raw, err := apiserverMetrics(ctx, p)
	if err != nil {
		return served{}, err
	}
	return parseServed(bytes.NewReader(raw))
}

// apiserverMetrics is the API server's /metrics, read as an admin.
func apiserverMetrics(ctx context.Context, p *plane) ([]byte, error) {
	cs, err := kubernetes.NewForConfig(p.env.Config)
	if err != nil {
		return nil, err
	}
	return cs.RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
}

// parseServed reads served from the API server's metrics, in the Prometheus text format.
func parseServed(r io.Reader) (served, error) {
	s := served{requests: map[string]float64{}, watchBytes: map[string]float64{}, watchSent: map[string]float64{}}
	err := parseMetrics(r, func(name, labels string, v float64) {
		switch name {
		case "apiserver_request_total":
			verb, _ := label(labels, "verb")
			res, _ := label(labels, "resource")
			if sub, _ := label(labels, "subresource"); sub != "" {
				res += "/" + sub
			}
			s.requests[verb+" "+res] += v
		case "apiserver_watch_events_sizes_sum":
			res, _ := label(labels, "resource")
			s.watchBytes[res] += v
		case "apiserver_watch_events_total":
			res, _ := label(labels, "resource")
			s.watchSent[res] += v
		}
	})
	return s, err
}

// since is what was served between before and s.
func (s served) since(before served) served {
	return served{requests: minus(s.requests, before.requests), watchBytes: minus(s.watchBytes, before.watchBytes),
		watchSent: minus(s.watchSent, before.watchSent)}
}

// minus is what grew from before to after, by key.
func minus(after, before map[string]float64) map[string]float64 {
	d := map[string]float64{}
	for k, v := range after {
		if n := v - before[k]; n > 0 {
			d[k] = n
		}
	}
	return d
}

// String lists the requests, most first, then the watch events sent, by resource.
func (s served) String() string {
	events := map[string]float64{}
	for res, b := range s.watchBytes {
		name := fmt.Sprintf("%s (%.0f events)", res, s.watchSent[res])
		events[name] = b / 1e6
	}
	return "requests " + largestFirst(s.requests, "%.0f") + "; watch events sent " + largestFirst(events, "%.1f MB")
}

// largestFirst lists m as "key value", the largest values first, each value in format.
func largestFirst(m map[string]float64, format string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return m[keys[i]] > m[keys[j]] || m[keys[i]] == m[keys[j]] && keys[i] < keys[j] })
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s "+format, k, m[k]))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// tally reads what the API server served so far; its func reads again and returns what it
// served since.
func tally(ctx context.Context, p *plane) func() (served, error) {
	before, err := servedSnapshot(ctx, p)
	return func() (served, error) {
		after, aerr := servedSnapshot(ctx, p)
		if err = cmp.Or(err, aerr); err != nil {
			return served{}, err
		}
		return after.since(before), nil
	}
}

// logServed logs what since says the API server served during what. It is a diagnosis:
// an error is logged, and an empty tally returned.
func logServed(n int, what string, since func() (served, error)) served {
	s, err := since()
	if err != nil {
		say("N=%d: the API server's metrics during %s: %v", n, what, err)
		return served{}
	}
	say("N=%d: the API server served during %s: %s", n, what, s)
	return s
}

// notTheRuns are the resources of requests neither run makes: the other client's, and the
// API server's own leases, whose counts grow with a run's length.
var notTheRuns = map[string]bool{"namespaces": true, "configmaps": true, "leases": true}

// beyond lists the writes of s beyond those of floor, most first ("PATCH
// components/status +5"), and counts its reads beyond the floor's (GET, LIST, WATCH: mostly
// a start's discovery, lists and watches), leaving out notTheRuns.
func (s served) beyond(floor served) string {
	writes := map[string]float64{}
	var reads float64
	for k, v := range s.requests {
		verb, res, _ := strings.Cut(k, " ")
		res, _, _ = strings.Cut(res, "/")
		d := v - floor.requests[k]
		switch {
		case d <= 0 || notTheRuns[res]:
		case verb == "GET" || verb == "LIST" || verb == "WATCH":
			reads += d
		default:
			writes[k] = d
		}
	}
	return fmt.Sprintf("writes %s; reads +%.0f", largestFirst(writes, "+%.0f"), reads)
}

// watchMB is the megabytes of every watch event sent.
func (s served) watchMB() float64 {
	var b float64
	for _, v := range s.watchBytes {
		b += v
	}
	return b / 1e6
}
