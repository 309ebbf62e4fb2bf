package app

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/oda-canvas/api-operator-istio/controllers/exposedapi"
	"github.com/oda-canvas/api-operator-istio/controllers/metrics"
)

// metricsWiring is the scraper and the watches that keep it true.
type metricsWiring struct {
	scraper *metrics.Scraper
	// crdAppeared wakes the metrics APIs when the ServiceMonitor CRD comes or goes.
	crdAppeared chan event.GenericEvent
}

func newMetricsWiring(ctx context.Context, mgr ctrl.Manager, pattern string) (*metricsWiring, error) {
	scraper := &metrics.Scraper{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Pattern: pattern}
	if err := scraper.SetupIndexes(ctx, mgr); err != nil {
		return nil, err
	}
	return &metricsWiring{scraper: scraper, crdAppeared: make(chan event.GenericEvent, 1024)}, nil
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

// onCRDChange wakes every metrics API when a monitoring.coreos.com CRD changes.
func (m *metricsWiring) onCRDChange(ctx context.Context, group string) {
	if group != "monitoring.coreos.com" {
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
