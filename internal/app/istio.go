package app

import (
	"context"
	"sync"

	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/controllers/crdwatch"
	"github.com/oda-canvas/api-operator-istio/controllers/exposedapi"
)

// istioReturn wakes every API when the VirtualService kind comes back (Istio's CRDs
// reinstalled): the CRD's removal deleted every VirtualService, and the APIs whose writes
// failed meanwhile would otherwise wait out their retry backoff. Nothing else tells them:
// the informer's relist finds no object to report. The CRD is told by its uid, since
// discovery may still serve the kind when the CRD's removal is reported.
type istioReturn struct {
	kind   *crdwatch.KindServed
	reader client.Reader
	wake   chan event.GenericEvent

	mu   sync.Mutex
	seen types.UID // the CRD when last looked at; "" before the first look
}

func newIstioReturn(dc discovery.DiscoveryInterface, reader client.Reader) *istioReturn {
	k := &crdwatch.KindServed{Discovery: dc, GroupVersion: networkingv1.SchemeGroupVersion.String(), Resource: "virtualservices"}
	return &istioReturn{kind: k, reader: reader, wake: make(chan event.GenericEvent, 1024)}
}

func (i *istioReturn) watches(b *builder.Builder) *builder.Builder {
	return b.WatchesRawSource(source.Channel(i.wake, &handler.EnqueueRequestForObject{}))
}

// onCRDChange, on the leader, wakes every API of r when the VirtualService CRD is another
// than the one last seen, and served.
func (i *istioReturn) onCRDChange(ctx context.Context, group string, r *exposedapi.Reconciler) {
	if group != networkingv1.SchemeGroupVersion.Group || !i.returned(ctx) {
		return
	}
	wakeAPIs(ctx, i.wake, r.APIs(ctx))
}

func (i *istioReturn) returned(ctx context.Context) bool {
	crd := &metav1.PartialObjectMetadata{}
	crd.SetGroupVersionKind(apiextensionsv1.SchemeGroupVersion.WithKind("CustomResourceDefinition"))
	if err := i.reader.Get(ctx, client.ObjectKey{Name: "virtualservices.networking.istio.io"}, crd); err != nil {
		return false
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	switch served, _ := i.kind.Recheck(); {
	case !served || crd.UID == i.seen:
		return false
	case i.seen == "":
		i.seen = crd.UID // the CRD at the start
		return false
	}
	i.seen = crd.UID
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
