package metrics

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"k8s.io/utils/ptr"
)

func TestChangesRecordAndRestore(t *testing.T) {
	st := &podState{Keys: map[string]keyRecord{}}
	istio := map[string]string{PrometheusScrape: "true", PrometheusPort: "15020", "other": "x"}
	want := map[string]string{PrometheusScrape: "true", PrometheusPort: "9090", PrometheusPath: "/metrics"}

	edits := st.changes(istio, want)
	assert.Equal(t, map[string]any{PrometheusPort: "9090", PrometheusPath: "/metrics"}, edits, "only what differs is written")
	assert.Equal(t, map[string]keyRecord{
		PrometheusScrape: {Was: ptr.To("true"), Set: "true"},
		PrometheusPort:   {Was: ptr.To("15020"), Set: "9090"},
		PrometheusPath:   {Set: "/metrics"},
	}, st.Keys)

	scraped := map[string]string{PrometheusScrape: "true", PrometheusPort: "9090", PrometheusPath: "/metrics", "other": "x"}
	assert.Empty(t, st.changes(scraped, want), "converged: nothing to write")

	assert.Equal(t, map[string]any{PrometheusPort: "15020", PrometheusPath: nil}, st.changes(scraped, nil), "each key back to what it held")
	assert.Empty(t, st.Keys)
}

func TestChangesLeaveOthersWrites(t *testing.T) {
	st := &podState{Keys: map[string]keyRecord{PrometheusPort: {Set: "9090"}, PrometheusPath: {Set: "/metrics"}}}
	// Someone wrote the port over ours: theirs is the value to restore; the path they
	// changed after we stopped wanting it is theirs too.
	current := map[string]string{PrometheusPort: "7070", PrometheusPath: "/theirs"}
	assert.Equal(t, map[string]any{PrometheusPort: "9090"}, st.changes(current, map[string]string{PrometheusPort: "9090"}))
	assert.Equal(t, keyRecord{Was: ptr.To("7070"), Set: "9090"}, st.Keys[PrometheusPort])
	assert.NotContains(t, st.Keys, PrometheusPath)
}
