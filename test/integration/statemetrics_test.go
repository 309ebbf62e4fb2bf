package integration

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

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
		env, ns := startComponents(t, set)
		env.Implementation(t, ns, "up", 8080, true)
		env.Implementation(t, ns, "down", 8080, false)
		ready, waiting := harness.API(ns, "ready", "/ready", "up", 8080), harness.API(ns, "waiting", "/waiting", "down", 8080)
		for _, api := range []*odav1.ExposedAPI{ready, waiting} {
			require.NoError(t, env.Client.Create(ctx, api))
		}

		// Counted straight from the API server, before any operator ran: both pending.
		direct := prometheus.NewPedanticRegistry()
		require.NoError(t, direct.Register(&statemetrics.Collector{Reader: env.Client}))
		assert.Equal(t, map[string]float64{"exposedapis": 2, "pending": 2}, gauges(t, direct, ns))
		assert.Empty(t, gauges(t, metrics.Registry, ns), "no operator leads: nothing on the endpoint")

		standby := standbyReplica(t, env)
		require.True(t, standby.Manager.GetCache().WaitForCacheSync(ctx))
		assert.Never(t, func() bool { return len(gauges(t, metrics.Registry, ns)) > 0 }, 2*time.Second, 50*time.Millisecond,
			"a replica that does not lead, its cache synced: nothing on the endpoint")
		standby.Stop()

		op := harness.StartOperator(t, env, harness.DefaultOptions())
		waitGauges(t, ns, map[string]float64{"exposedapis": 2, "pending": 0,
			"Accepted/True/Valid": 2, "Programmed/True/VirtualServiceProgrammed": 2,
			"Ready/True/Ready": 1, "Ready/False/ImplementationNotReady": 1})

		env.SetReady(t, ns, "down", true)
		waitGauges(t, ns, map[string]float64{"exposedapis": 2, "pending": 0,
			"Ready/True/Ready": 2, "Ready/False/ImplementationNotReady": 0})

		op.Stop()
		assert.Empty(t, gauges(t, metrics.Registry, ns), "the operator stopped: nothing on the endpoint")
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

// waitGauges waits until the endpoint's gauges for ns are want (keys as gauges gives
// them; 0 means no series).
func waitGauges(t *testing.T, ns string, want map[string]float64) {
	t.Helper()
	harness.Eventually(t, fmt.Sprintf("gauges %v", want), func() error {
		got := gauges(t, metrics.Registry, ns)
		for key, v := range want {
			if got[key] != v {
				return fmt.Errorf("%s = %v; all: %v", key, got[key], got)
			}
		}
		return nil
	})
}

// gauges are ns's series of the ExposedAPI metrics that g gathers: the two counts as
// "exposedapis" and "pending", the conditions as type/status/reason. It reports a failed
// gather with t.Errorf, so it may run in assert.Never's polling goroutine.
func gauges(t *testing.T, g prometheus.Gatherer, ns string) map[string]float64 {
	families, err := g.Gather()
	assert.NoError(t, err)
	got := map[string]float64{}
	short := map[string]string{"api_operator_istio_exposedapis": "exposedapis", "api_operator_istio_exposedapis_pending": "pending",
		"api_operator_istio_exposedapi_conditions": ""}
	for _, f := range families {
		name, ours := short[f.GetName()]
		for _, m := range f.GetMetric() {
			l := labelsOf(m)
			if !ours || l["namespace"] != ns {
				continue
			}
			key := name
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
