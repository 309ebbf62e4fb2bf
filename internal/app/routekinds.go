package app

import (
	"context"
	"sync"

	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/controllers/crdwatch"
	"github.com/oda-canvas/api-operator-istio/controllers/exposedapi"
)

// routeKindsReturn wakes every API when the CRD of a route kind comes back (Istio's or the
// Gateway API's CRDs reinstalled): the CRD's removal deleted every route of the kind, and
// the APIs whose writes failed meanwhile would otherwise wait out their retry backoff.
// Nothing else tells them: the informer's relist finds no object to report.
type routeKindsReturn struct {
	kinds []*kindReturn
	wake  chan event.GenericEvent
}

// kindReturn tells a CRD by its uid, since discovery may still serve the kind when the
// CRD's removal is reported.
type kindReturn struct {
	served *crdwatch.KindServed
	group  string
	crd    string
	reader client.Reader

	mu   sync.Mutex
	seen types.UID // the CRD when last looked at; "" before the first look
}

func newRouteKindsReturn(dc discovery.DiscoveryInterface, reader client.Reader) *routeKindsReturn {
	kind := func(gv, group, resource string) *kindReturn {
		return &kindReturn{served: &crdwatch.KindServed{Discovery: dc, GroupVersion: gv, Resource: resource},
			group: group, crd: resource + "." + group, reader: reader}
	}
	return &routeKindsReturn{wake: make(chan event.GenericEvent, 1024), kinds: []*kindReturn{
		kind(networkingv1.SchemeGroupVersion.String(), networkingv1.SchemeGroupVersion.Group, "virtualservices"),
		kind(gatewayv1.GroupVersion.String(), gatewayv1.GroupName, "httproutes"),
	}}
}

func (k *routeKindsReturn) watches(b *builder.Builder) *builder.Builder {
	return b.WatchesRawSource(source.Channel(k.wake, &handler.EnqueueRequestForObject{}))
}

// onCRDChange, on the leader, wakes every API of r when a route kind's CRD of group is
// another than the one last seen, and served.
func (k *routeKindsReturn) onCRDChange(ctx context.Context, group string, r *exposedapi.Reconciler) {
	for _, kind := range k.kinds {
		if kind.group == group && kind.returned(ctx) {
			wakeAPIs(ctx, k.wake, r.APIs(ctx))
			return
		}
	}
}

func (k *kindReturn) returned(ctx context.Context) bool {
	crd := crdwatch.CRDMeta()
	if err := k.reader.Get(ctx, client.ObjectKey{Name: k.crd}, crd); err != nil {
		return false
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	switch served, _ := k.served.Recheck(); {
	case !served || crd.UID == k.seen:
		return false
	case k.seen == "":
		// The CRD at the start, or a kind's first arrival, which gatewayAPIWiring handles.
		k.seen = crd.UID
		return false
	}
	k.seen = crd.UID
	return true
}

// wakeAPIs queues each API through the channel source ch, until ctx ends.
func wakeAPIs(ctx context.Context, ch chan<- event.GenericEvent, reqs []reconcile.Request) {
	for _, req := range reqs {
		api := &odav1.ExposedAPI{}
		api.Namespace, api.Name = req.Namespace, req.Name
		select {
		case ch <- event.GenericEvent{Object: api}:
		case <-ctx.Done():
			return
		}
	}
}
