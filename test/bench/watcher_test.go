package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
)

func routeOf(name string) *networkingv1.VirtualService {
	return &networkingv1.VirtualService{ObjectMeta: metav1.ObjectMeta{Name: name}}
}

func apiOf(name, routedBy string, ready bool) *odav1.ExposedAPI {
	return &odav1.ExposedAPI{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: odav1.ExposedAPIStatus{
		APIStatus:      &odav1.APIStatus{Name: routedBy, URL: "https://192.0.2.10/" + name},
		Implementation: &odav1.ImplementationStatus{Ready: ready}}}
}

func TestConvergedCountNeedsTheRouteAndAReadyStatusOfTheSameName(t *testing.T) {
	w := &watcher{count: newConvergedCount()}
	h := w.handler()
	h.OnAdd(apiOf("a", "a", true), false)
	h.OnAdd(apiOf("b", "b", false), false)
	h.OnAdd(apiOf("c", "floor-c", true), false)
	apis, _ := w.converged()
	assert.Equal(t, 0, apis, "no VirtualService yet")

	for _, name := range []string{"a", "b", "c"} {
		h.OnAdd(routeOf(name), false)
	}
	apis, _ = w.converged()
	assert.Equal(t, 1, apis, "b is not ready, c's status names another VirtualService")

	h.OnUpdate(apiOf("b", "b", false), apiOf("b", "b", true))
	h.OnUpdate(apiOf("a", "a", true), apiOf("a", "a", true))
	apis, _ = w.converged()
	assert.Equal(t, 2, apis, "b ready now; a counted once however often it is reported")

	h.OnDelete(toolscache.DeletedFinalStateUnknown{Key: "ns/a", Obj: routeOf("a")})
	h.OnUpdate(apiOf("b", "b", true), &odav1.ExposedAPI{ObjectMeta: metav1.ObjectMeta{Name: "b"}})
	apis, _ = w.converged()
	assert.Equal(t, 0, apis, "a's route deleted (seen as a tombstone), b's status cleared")
	assert.Positive(t, w.last.Load(), "the time of the latest change is kept")
}

func TestConvergedCountSumsTheComponentsEntriesWithURLAndReady(t *testing.T) {
	w := &watcher{count: newConvergedCount()}
	h := w.handler()
	comp := func(name string, entries ...odav1.ComponentAPIStatus) *odav1.Component {
		return &odav1.Component{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: odav1.ComponentStatus{CoreAPIs: entries}}
	}
	h.OnAdd(comp("shop", odav1.ComponentAPIStatus{URL: "https://x/a", Ready: true}, odav1.ComponentAPIStatus{URL: "https://x/b"},
		odav1.ComponentAPIStatus{Ready: true}), false)
	h.OnAdd(comp("billing", odav1.ComponentAPIStatus{URL: "https://x/c", Ready: true}), false)
	_, entries := w.converged()
	assert.Equal(t, 2, entries, "one entry of each Component has its URL and is ready")

	h.OnUpdate(nil, comp("shop"))
	_, entries = w.converged()
	assert.Equal(t, 1, entries, "shop's entries gone: a Component's count is replaced, not added to")
	h.OnDelete(comp("billing"))
	_, entries = w.converged()
	assert.Equal(t, 0, entries)
}

func TestConvergedAtIsTheLastChangeBetweenTheStartAndTheCheck(t *testing.T) {
	w := &watcher{count: newConvergedCount()}
	start := time.Now()
	polled := start.Add(time.Second)
	w.last.Store(start.Add(300 * time.Millisecond).UnixNano())
	assert.Equal(t, start.Add(300*time.Millisecond).UnixNano(), w.convergedAt(start, polled).UnixNano())

	w.last.Store(polled.Add(time.Millisecond).UnixNano())
	assert.Equal(t, polled, w.convergedAt(start, polled), "a change after the check: the check's time")
	w.last.Store(start.Add(-time.Millisecond).UnixNano())
	assert.Equal(t, polled, w.convergedAt(start, polled), "no change since the start: the check's time")
}
