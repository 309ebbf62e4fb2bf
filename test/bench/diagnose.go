package main

import (
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// bucket is one cumulative histogram bucket: count of observations <= le seconds.
type bucket struct {
	le    float64
	count float64
}

// snapshot is what the operator's metrics say at one moment.
type snapshot struct {
	gcCycles       float64
	webhookBuckets []bucket // summed over the webhooks
}

func (o *operatorProcess) snapshot() (snapshot, error) {
	var s snapshot
	byLE := map[float64]float64{}
	err := o.scrape(func(name, labels string, v float64) {
		switch name {
		case "go_gc_duration_seconds_count":
			s.gcCycles = v
		case "controller_runtime_webhook_latency_seconds_bucket":
			addBucket(byLE, labels, v)
		}
	})
	s.webhookBuckets = sortedBuckets(byLE)
	return s, err
}

// addBucket adds a histogram bucket sample to the counts by upper bound, summing series.
func addBucket(byLE map[float64]float64, labels string, v float64) {
	if le, ok := label(labels, "le"); ok {
		f, _ := strconv.ParseFloat(le, 64)
		byLE[f] += v
	}
}

// sortedBuckets are the counts by upper bound as buckets, lowest bound first.
func sortedBuckets(byLE map[float64]float64) []bucket {
	out := make([]bucket, 0, len(byLE))
	for le, n := range byLE {
		out = append(out, bucket{le: le, count: n})
	}
	slices.SortFunc(out, func(a, b bucket) int { return cmpFloat(a.le, b.le) })
	return out
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// label is a label's value in a Prometheus text label set: {a="x",le="0.1"}.
func label(labels, name string) (string, bool) {
	i := strings.Index(labels, name+`="`)
	if i < 0 || (i > 0 && labels[i-1] != '{' && labels[i-1] != ',') {
		return "", false
	}
	rest := labels[i+len(name)+2:]
	j := strings.IndexByte(rest, '"')
	if j < 0 {
		return "", false
	}
	return rest[:j], true
}

// subtract is the buckets of what happened between before and after (same bounds).
func subtract(after, before []bucket) []bucket {
	out := slices.Clone(after)
	for i := range out {
		for _, b := range before {
			if b.le == out[i].le {
				out[i].count -= b.count
			}
		}
	}
	return out
}

// histogramQuantile is the upper bound of the bucket holding quantile q, as "<= 1ms".
func histogramQuantile(buckets []bucket, q float64) string {
	if len(buckets) == 0 || buckets[len(buckets)-1].count == 0 {
		return "no requests"
	}
	want := q * buckets[len(buckets)-1].count
	for _, b := range buckets {
		if b.count >= want {
			if math.IsInf(b.le, 1) {
				return "above the last bucket"
			}
			return "<= " + time.Duration(b.le*float64(time.Second)).String()
		}
	}
	return "above the last bucket"
}

// tcpStates are /proc/net/tcp's state codes.
var tcpStates = map[string]string{"01": "ESTABLISHED", "06": "TIME_WAIT", "08": "CLOSE_WAIT"}

// connections counts this host's TCP connections with port at either end, by state.
func connections(port int) map[string]int {
	out := map[string]int{}
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		raw, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		countConnections(string(raw), port, out)
	}
	return out
}

// countConnections reads /proc/net/tcp lines ("sl local rem st ...", addresses as
// HEXIP:HEXPORT). A connection seen from both ends (both in this host) is one.
func countConnections(table string, port int, out map[string]int) {
	hexPort := fmt.Sprintf(":%04X", port)
	for _, line := range strings.Split(table, "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 4 {
			continue
		}
		state, ok := tcpStates[f[3]]
		if !ok {
			continue
		}
		// The server's end: the port is local. The client's end alone (its peer gone from
		// the table) only in TIME_WAIT, left by the side that closed first.
		if strings.HasSuffix(f[1], hexPort) || (state == "TIME_WAIT" && strings.HasSuffix(f[2], hexPort)) {
			out[state]++
		}
	}
}
