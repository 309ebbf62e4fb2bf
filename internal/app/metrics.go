package app

import (
	"context"
	"fmt"
	"sync"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/discovery"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/source"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/controllers/crdwatch"
	"github.com/oda-canvas/api-operator-istio/controllers/exposedapi"
	"github.com/oda-canvas/api-operator-istio/controllers/metrics"
)

// metricsWiring is the scraper and the watches that keep it true.
type metricsWiring struct {
	scraper *metrics.Scraper
	mgr     ctrl.Manager
	// crdAppeared wakes the metrics APIs when the ServiceMonitor CRD comes or goes.
	crdAppeared chan event.GenericEvent

	mu sync.Mutex
	// apis is the ExposedAPI controller, once set up; watchingSMs tells whether it watches
	// ServiceMonitors yet.
	apis        controller.Controller
	watchingSMs bool
}

func newMetricsWiring(ctx context.Context, mgr ctrl.Manager, dc discovery.DiscoveryInterface, o *Options) (*metricsWiring, error) {
	scraper := &metrics.Scraper{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Pattern: o.OpenMetricsImplementation,
		ServiceMonitors: &crdwatch.KindServed{Discovery: dc, GroupVersion: monitoringv1.SchemeGroupVersion.String(), Resource: monitoringv1.ServiceMonitorName},
		Namespaces:      o.served}
	if err := scraper.SetupIndexes(ctx, mgr); err != nil {
		return nil, err
	}
	return &metricsWiring{scraper: scraper, mgr: mgr, crdAppeared: make(chan event.GenericEvent, 1024)}, nil
}

// setController gives the wiring the ExposedAPI controller, for the ServiceMonitor watch.
// When the kind is served already, the watch starts with the controller, whose workers then
// wait for its cache with the others'. Started later by the CRD watch, the first reconciles
// would all wait on its first sync in their ServiceMonitor lookups (a second at start).
func (m *metricsWiring) setController(c controller.Controller) error {
	m.mu.Lock()
	m.apis = c
	m.mu.Unlock()
	if m.scraper.Pattern != metrics.ServiceMonitor || !m.scraper.ServiceMonitors.Served() {
		return nil
	}
	return m.watchServiceMonitors()
}

// watchServiceMonitors makes a ServiceMonitor edited or deleted by hand be put back at once.
// The watch starts only once the CRD is served: started before, it would fail.
func (m *metricsWiring) watchServiceMonitors() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.scraper.Pattern != metrics.ServiceMonitor || m.watchingSMs || m.apis == nil {
		return nil
	}
	owner := handler.TypedEnqueueRequestForOwner[*monitoringv1.ServiceMonitor](m.mgr.GetScheme(), m.mgr.GetRESTMapper(),
		&odav1.ExposedAPI{}, handler.OnlyControllerOwner())
	if err := m.apis.Watch(source.Kind(m.mgr.GetCache(), &monitoringv1.ServiceMonitor{}, owner)); err != nil {
		return fmt.Errorf("watching ServiceMonitors: %w", err)
	}
	m.watchingSMs = true
	return nil
}

// watches adds what the pattern depends on: pods and Services for the annotations (new
// pods get them too), and the CRD channel for the ServiceMonitor.
func (m *metricsWiring) watches(r *exposedapi.Reconciler) func(*builder.Builder) *builder.Builder {
	return func(b *builder.Builder) *builder.Builder {
		b = b.WatchesRawSource(source.Channel(m.crdAppeared, &handler.EnqueueRequestForObject{}))
		if m.scraper.Pattern == metrics.ServiceMonitor {
			return b
		}
		return b.
			Watches(&corev1.Pod{}, handler.EnqueueRequestsFromMapFunc(m.scraper.APIsOfPod), builder.WithPredicates(metrics.PodChanged())).
			Watches(&corev1.Service{}, handler.EnqueueRequestsFromMapFunc(r.APIsOfService))
	}
}

// removeServiceMonitors removes what the ServiceMonitor pattern left, trying again until it
// is done or the operator stops: it runs once, when the kind turns up (at start, at a
// failover), which is when the API server may be failing, and a failed try left them to be
// scraped beside the annotations until the next restart.
func (m *metricsWiring) removeServiceMonitors(ctx context.Context) {
	retry := wait.Backoff{Duration: time.Second, Factor: 2, Jitter: 0.1, Steps: 8, Cap: time.Minute}
	_ = retry.DelayFunc().Until(ctx, true, false, func(ctx context.Context) (bool, error) {
		err := m.scraper.RemoveServiceMonitors(ctx)
		if err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "removing the ServiceMonitors of the ServiceMonitor pattern; trying again")
		}
		return err == nil, nil
	})
}

// onCRDChange acts when a monitoring.coreos.com CRD changes and that changes whether
// ServiceMonitors are served: the annotation patterns remove the ServiceMonitors a former
// pattern left; the ServiceMonitor pattern starts watching them and wakes every metrics API.
func (m *metricsWiring) onCRDChange(ctx context.Context, group string) {
	if group != monitoringv1.SchemeGroupVersion.Group {
		return
	}
	served, changed := m.scraper.ServiceMonitors.Recheck()
	log := ctrl.LoggerFrom(ctx)
	if m.scraper.Pattern != metrics.ServiceMonitor {
		if served && changed {
			go m.removeServiceMonitors(ctx)
		}
		return
	}
	if served {
		// Also when a reconcile asked first and the answer did not change.
		if err := m.watchServiceMonitors(); err != nil {
			log.Error(err, "ServiceMonitors edited by hand are corrected at their API's next change only")
		}
	}
	if !changed {
		return
	}
	for _, api := range m.scraper.MetricsAPIs(ctx) {
		select {
		case m.crdAppeared <- event.GenericEvent{Object: api}:
		case <-ctx.Done():
			return
		}
	}
}
