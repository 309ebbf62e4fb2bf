package harness

import (
	"testing"

	dto "github.com/prometheus/client_model/go"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// ReconcileCount is how many reconciles of the named controller finished, from
// controller-runtime's own metrics.
func ReconcileCount(t testing.TB, controller string) float64 {
	t.Helper()
	total := 0.0
	for _, m := range series(t, "controller_runtime_reconcile_total", map[string]string{"controller": controller}) {
		total += m.GetCounter().GetValue()
	}
	return total
}

// Gauge is the value of the gauge name whose labels include labels, from the process's
// metrics registry (the one the operator's metrics endpoint serves); false when there is
// no such series. More than one such series fails the test. It may be called from any
// goroutine (assert.Never polls in its own).
func Gauge(t testing.TB, name string, labels map[string]string) (float64, bool) {
	t.Helper()
	found := series(t, name, labels)
	switch len(found) {
	case 0:
		return 0, false
	case 1:
		return found[0].GetGauge().GetValue(), true
	}
	t.Errorf("%d series of %s with labels %v", len(found), name, labels)
	return 0, false
}

// series are the metrics of the family name whose labels include labels.
func series(t testing.TB, name string, labels map[string]string) []*dto.Metric {
	t.Helper()
	families, err := metrics.Registry.Gather()
	if err != nil {
		t.Errorf("gathering metrics: %v", err)
		return nil
	}
	var found []*dto.Metric
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if hasLabels(m, labels) {
				found = append(found, m)
			}
		}
	}
	return found
}

func hasLabels(m *dto.Metric, labels map[string]string) bool {
	matched := 0
	for _, l := range m.GetLabel() {
		if v, ok := labels[l.GetName()]; ok {
			if v != l.GetValue() {
				return false
			}
			matched++
		}
	}
	return matched == len(labels)
}
