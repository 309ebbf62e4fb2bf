package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/internal/app"
	"github.com/oda-canvas/api-operator-istio/internal/statemetrics"
	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// TestStateMetrics: the metrics endpoint counts the ExposedAPIs of each namespace, those
// not yet reconciled at their generation, and each condition by status and reason, while
// the operator leads; with no operator running nothing is reported.
func TestStateMetrics(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		ctx := context.Background()
		env := harness.Start(t, set)
		ns := env.Namespace(t, "components")
		env.Gateway(t, "20.0.0.1", "")
		env.Implementation(t, ns, "up", 8080, true)
		env.Implementation(t, ns, "down", 8080, false)
		ready, waiting := harness.API(ns, "ready", "/ready", "up", 8080), harness.API(ns, "waiting", "/waiting", "down", 8080)
		for _, api := range []*odav1.ExposedAPI{ready, waiting} {
			require.NoError(t, env.Client.Create(ctx, api))
		}

		// Counted straight from the API server, before any operator ran: both pending.
		direct := collect(t, &statemetrics.Collector{Reader: env.Client}, ns)
		assert.Equal(t, map[string]float64{"exposedapis": 2, "pending": 2}, direct)
		_, reported := harness.Gauge(t, "api_operator_istio_exposedapis", map[string]string{"namespace": ns})
		assert.False(t, reported, "no operator leads: nothing on the endpoint")

		standby := standbyReplica(t, env)
		require.True(t, standby.Manager.GetCache().WaitForCacheSync(ctx))
		assert.Never(t, func() bool {
			_, reported := harness.Gauge(t, "api_operator_istio_exposedapis", map[string]string{"namespace": ns})
			return reported
		}, 2*time.Second, 50*time.Millisecond, "a replica that does not lead, its cache synced: nothing on the endpoint")
		standby.Stop()

		op := harness.StartOperator(t, env, harness.DefaultOptions())
		waitGauges(t, ns, map[string]float64{"exposedapis": 2, "pending": 0,
			"Accepted/True/Valid": 2, "Programmed/True/VirtualServiceProgrammed": 2,
			"Ready/True/Ready": 1, "Ready/False/ImplementationNotReady": 1})

		env.SetReady(t, ns, "down", true)
		waitGauges(t, ns, map[string]float64{"exposedapis": 2, "pending": 0,
			"Ready/True/Ready": 2, "Ready/False/ImplementationNotReady": 0})

		op.Stop()
		_, reported = harness.Gauge(t, "api_operator_istio_exposedapis", map[string]string{"namespace": ns})
		assert.False(t, reported, "the operator stopped: nothing on the endpoint")
	})
}

// standbyReplica is an operator that never leads: another holds its lease for an hour.
func standbyReplica(t *testing.T, env *harness.Env) *harness.Operator {
	t.Helper()
	leaseNS := env.Namespace(t, "lease")
	now := metav1.NewMicroTime(time.Now())
	lease := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: leaseNS, Name: app.LeaderElectionID},
		Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To("another-replica"), LeaseDurationSeconds: ptr.To(int32(3600)),
			AcquireTime: &now, RenewTime: &now}}
	require.NoError(t, env.Client.Create(context.Background(), lease))
	o := harness.DefaultOptions()
	o.LeaderElect, o.LeaderElectionNamespace = true, leaseNS
	return harness.StartOperator(t, env, o)
}

// waitGauges waits until the endpoint's gauges for ns are want; a condition key is
// type/status/reason, and 0 means no series.
func waitGauges(t *testing.T, ns string, want map[string]float64) {
	t.Helper()
	harness.Eventually(t, fmt.Sprintf("gauges %v", want), func() error {
		for key, v := range want {
			name, labels := gaugeOf(ns, key)
			got, _ := harness.Gauge(t, name, labels)
			if got != v {
				return fmt.Errorf("%s %v = %v", name, labels, got)
			}
		}
		return nil
	})
}

func gaugeOf(ns, key string) (string, map[string]string) {
	switch key {
	case "exposedapis":
		return "api_operator_istio_exposedapis", map[string]string{"namespace": ns}
	case "pending":
		return "api_operator_istio_exposedapis_pending", map[string]string{"namespace": ns}
	}
	p := strings.Split(key, "/")
	return "api_operator_istio_exposedapi_conditions", map[string]string{"namespace": ns, "type": p[0], "status": p[1], "reason": p[2]}
}

// collect gathers c through a registry of its own (which checks its metrics against their
// descriptors) and returns ns's series: the two counts by their short names, the
// conditions as type/status/reason.
func collect(t *testing.T, c prometheus.Collector, ns string) map[string]float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(c))
	families, err := reg.Gather()
	require.NoError(t, err)
	got := map[string]float64{}
	short := map[string]string{"api_operator_istio_exposedapis": "exposedapis", "api_operator_istio_exposedapis_pending": "pending"}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			l := labelsOf(m)
			if l["namespace"] != ns {
				continue
			}
			key := short[f.GetName()]
			if key == "" {
				key = l["type"] + "/" + l["status"] + "/" + l["reason"]
			}
			got[key] = m.GetGauge().GetValue()
		}
	}
	return got
}

func labelsOf(m *dto.Metric) map[string]string {
	l := map[string]string{}
	for _, p := range m.GetLabel() {
		l[p.GetName()] = p.GetValue()
	}
	return l
}
