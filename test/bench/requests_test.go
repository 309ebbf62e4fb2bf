package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func metricsText(patches, creates, namespaces, watchBytes string) string {
	return `# HELP apiserver_request_total Counter of apiserver requests
apiserver_request_total{code="200",component="apiserver",dry_run="",group="oda.tmforum.org",resource="exposedapis",scope="resource",subresource="status",verb="PATCH",version="v1"} ` + patches + `
apiserver_request_total{code="201",component="apiserver",dry_run="",group="networking.istio.io",resource="virtualservices",scope="resource",subresource="",verb="POST",version="v1"} ` + creates + `
apiserver_request_total{code="409",component="apiserver",dry_run="",group="networking.istio.io",resource="virtualservices",scope="resource",subresource="",verb="POST",version="v1"} 1
apiserver_request_total{code="200",component="apiserver",dry_run="",group="",resource="namespaces",scope="resource",subresource="",verb="GET",version="v1"} ` + namespaces + `
apiserver_watch_events_sizes_sum{group="oda.tmforum.org",resource="exposedapis",version="v1"} ` + watchBytes + `
apiserver_watch_events_total{group="oda.tmforum.org",resource="exposedapis",version="v1"} 10
`
}

func TestServedCountsByVerbAndResource(t *testing.T) {
	s, err := parseServed(strings.NewReader(metricsText("3", "4", "5", "2000000")))
	require.NoError(t, err)
	assert.Equal(t, map[string]float64{"PATCH exposedapis/status": 3, "POST virtualservices": 5, "GET namespaces": 5}, s.requests,
		"codes summed, the subresource after the resource")
	assert.Equal(t, map[string]float64{"exposedapis": 2e6}, s.watchBytes)
	assert.Equal(t, map[string]float64{"exposedapis": 10}, s.watchSent)
}

func TestServedBeyondTheFloor(t *testing.T) {
	start, err := parseServed(strings.NewReader(metricsText("10", "10", "10", "1000000")))
	require.NoError(t, err)
	floorEnd, err := parseServed(strings.NewReader(metricsText("20", "20", "20", "3000000")))
	require.NoError(t, err)
	opEnd, err := parseServed(strings.NewReader(metricsText("30", "33", "60", "8000000")))
	require.NoError(t, err)
	floor, op := floorEnd.since(start), opEnd.since(floorEnd)

	assert.Equal(t, "writes POST virtualservices +3; reads +0", op.beyond(floor),
		"the same status patches are not listed, nor the other client's namespace reads")
	assert.InDelta(t, 2.0, floor.watchMB(), 1e-9)
	assert.InDelta(t, 5.0, op.watchMB(), 1e-9)
	op.requests["LIST services"], op.requests["WATCH services/"] = 1, 2
	assert.Equal(t, "writes POST virtualservices +3; reads +3", op.beyond(floor), "the start's list and watches, counted")
	assert.Equal(t, "writes none; reads +0", floor.beyond(op), "the floor made no request beyond the operator's")
	assert.Contains(t, op.String(), "exposedapis (0 events) 5.0 MB", "events unchanged between the reads count 0")
}
