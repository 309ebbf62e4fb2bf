// Package statemetrics puts how the watched ExposedAPIs stand on the operator's metrics
// endpoint, counted from its cache at each scrape: a platform team with thousands of APIs
// alerts on those that are not Ready, or that the operator has not caught up with, without
// reading their statuses one by one.
package statemetrics

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/controllers/exposedapi"
)

var (
	apisDesc = prometheus.NewDesc("api_operator_istio_exposedapis",
		"ExposedAPIs in the namespaces this operator watches.", []string{"namespace"}, nil)
	pendingDesc = prometheus.NewDesc("api_operator_istio_exposedapis_pending",
		"ExposedAPIs this operator has not yet reconciled at their current generation: new, "+
			"changed, or never reached.", []string{"namespace"}, nil)
	conditionsDesc = prometheus.NewDesc("api_operator_istio_exposedapi_conditions",
		"ExposedAPIs by the type, status and reason of each of their status conditions.",
		[]string{"namespace", "type", "status", "reason"}, nil)
)

// listTimeout bounds a scrape's read: a Reader that is the API server may be slow.
const listTimeout = 5 * time.Second

// Collector counts the ExposedAPIs that Reader lists, at every scrape.
type Collector struct {
	Reader client.Reader
}

// Describe sends the descriptors of every metric Collect sends.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) { describe(ch) }

func describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{apisDesc, pendingDesc, conditionsDesc} {
		ch <- d
	}
}

// Collect lists the ExposedAPIs and sends their counts. After a failed list it sends
// none, and logs why: no series rather than zeros, and the scrape keeps the other metrics
// (controller-runtime's endpoint fails a whole scrape on one invalid metric).
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), listTimeout)
	defer cancel()
	var list odav1.ExposedAPIList
	// Read only: the cache's objects are counted, not copied.
	if err := c.Reader.List(ctx, &list, client.UnsafeDisableDeepCopy); err != nil {
		logf.Log.WithName("statemetrics").Error(err, "listing ExposedAPIs for the metrics")
		return
	}
	counts := countAll(list.Items)
	for ns, n := range counts.apis {
		ch <- prometheus.MustNewConstMetric(apisDesc, prometheus.GaugeValue, float64(n), ns)
		ch <- prometheus.MustNewConstMetric(pendingDesc, prometheus.GaugeValue, float64(counts.pending[ns]), ns)
	}
	for k, n := range counts.conditions {
		ch <- prometheus.MustNewConstMetric(conditionsDesc, prometheus.GaugeValue, float64(n), k.namespace, k.typ, k.status, k.reason)
	}
}

type conditionKey struct{ namespace, typ, status, reason string }

type counts struct {
	apis, pending map[string]int
	conditions    map[conditionKey]int
}

func countAll(apis []odav1.ExposedAPI) counts {
	c := counts{apis: map[string]int{}, pending: map[string]int{}, conditions: map[conditionKey]int{}}
	for i := range apis {
		api := &apis[i]
		c.apis[api.Namespace]++
		if !exposedapi.Settled(api) {
			c.pending[api.Namespace]++
		}
		for _, cond := range api.Status.Conditions {
			c.conditions[conditionKey{api.Namespace, cond.Type, string(cond.Status), cond.Reason}]++
		}
	}
	return c
}

// The Prometheus registry is the process's, and a process may run more than one operator
// (the tests do, one after another and two replicas at once): one collector is registered,
// and it counts through the Collector of the replica that leads, the last to have started
// leading.
var leading atomic.Pointer[Collector]

func init() { metrics.Registry.MustRegister(process{}) }

type process struct{}

func (process) Describe(ch chan<- *prometheus.Desc) { describe(ch) }

func (process) Collect(ch chan<- prometheus.Metric) {
	if c := leading.Load(); c != nil {
		c.Collect(ch)
	}
}

// exporter serves the counts of its cache while its replica leads, once the cache has
// synced: only one replica reports them, so that a scrape of every pod counts each API
// once, and never from a cache still filling.
type exporter struct{ cache cache.Cache }

func (exporter) NeedLeaderElection() bool { return true }

func (e exporter) Start(ctx context.Context) error {
	if !e.cache.WaitForCacheSync(ctx) {
		return nil // stopped before the cache synced
	}
	c := &Collector{Reader: e.cache}
	leading.Store(c)
	<-ctx.Done()
	leading.CompareAndSwap(c, nil)
	return nil
}

// Add has mgr serve the counts of the ExposedAPIs in its cache while it leads.
func Add(mgr manager.Manager) error { return mgr.Add(exporter{cache: mgr.GetCache()}) }
