package crdwatch

import (
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/discovery"
)

// KindServed remembers whether the API server serves a resource of a custom kind
// (ServiceMonitors, HTTPRoutes). The client's RESTMapper asks the API server again on every
// lookup of a kind it does not know, so a reconcile that looked one up without its CRD
// would cost a discovery request. Here discovery is asked once, then again only when told
// that a CRD of the group changed.
type KindServed struct {
	Discovery discovery.DiscoveryInterface
	// GroupVersion ("monitoring.coreos.com/v1") and Resource ("servicemonitors") name it.
	GroupVersion, Resource string

	mu            sync.Mutex
	known, served bool
}

// Served tells whether the kind is served, asking discovery the first time only.
func (k *KindServed) Served() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.known {
		k.lookup()
	}
	return k.served
}

// Recheck asks discovery again, and tells whether the kind is served and whether that
// changed (the first answer counts as a change).
func (k *KindServed) Recheck() (served, changed bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	wasKnown, was := k.known, k.served
	k.lookup()
	return k.served, k.known && (!wasKnown || was != k.served)
}

// lookup leaves the answer unknown when discovery fails for another reason than the
// group's absence, so that the next question asks again.
func (k *KindServed) lookup() {
	list, err := k.Discovery.ServerResourcesForGroupVersion(k.GroupVersion)
	if err != nil {
		k.known, k.served = apierrors.IsNotFound(err), false
		return
	}
	k.known, k.served = true, false
	for _, r := range list.APIResources {
		if r.Name == k.Resource {
			k.served = true
		}
	}
}
