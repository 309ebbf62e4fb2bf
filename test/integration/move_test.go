package integration

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	networkingv1alpha3 "istio.io/client-go/pkg/apis/networking/v1alpha3"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/internal/app"
	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// TestTokenChecksCoverARouteThatMoves: when an API with token checks and a rate limit moves
// to another path, its checks and its rate limit cover the old path and the new one before
// its route moves, and keep covering both for a while after (the gateway's proxies take
// the route, the checks and the limit in separate pushes); then only the new one. Every
// version of the route, the checks and the limit the API server stored is replayed in the
// order it stored them: at no point does the route take a path they do not cover.
func TestTokenChecksCoverARouteThatMoves(t *testing.T) {
	ctx := context.Background()
	env, ns := startWithImplAnd(t, harness.Generated, func(o *app.Options) { o.JWTIssuer, o.RateLimitMode = issuer, "local" })
	api := harness.API(ns, "moving", "/before", "impl", 8080)
	api.Spec.APIKeyVerification = &odav1.APIKeyVerification{Enabled: ptr.To(true)}
	api.Spec.RateLimit = &odav1.RateLimit{Enabled: ptr.To(true), Limit: "10"}
	require.NoError(t, env.Client.Create(ctx, api))
	waitCondition(t, env, api, "Ready", true, "Ready")
	authorizationPolicy(t, env, ns+".moving", denyWithoutToken(nil, "/before*"))

	h := recordHistory(t, env, api)
	setPath(t, env, api, "/after")
	virtualService(t, env, api, routeIs("*", "component-gateway", "/after", "impl", 8080))
	authorizationPolicy(t, env, ns+".moving", denyWithoutToken(nil, "/after*"))
	waitCondition(t, env, api, "Ready", true, "Ready")
	harness.Eventually(t, "the rate limit narrowed", func() error {
		ef := &networkingv1alpha3.EnvoyFilter{}
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: "istio-system", Name: ns + ".moving"}, ef); err != nil {
			return err
		}
		if got := limitedRoutes(ef); !slices.Equal(got, []string{"exposedapi:*/after"}) {
			return fmt.Errorf("limits %v", got)
		}
		return nil
	})

	replay(t, h.stop())
}

// replay checks, version by stored version, that the checks and the limit cover the path
// the route takes, that each covered both paths at one time, and where they end.
func replay(t *testing.T, steps []step) {
	var route string
	var checked, limited []string
	wideChecks, wideLimit := false, false
	for _, s := range steps {
		switch {
		case s.checked != nil:
			checked = s.checked
			wideChecks = wideChecks || slices.Equal(checked, []string{"/before*", "/after*"})
		case s.limited != nil:
			limited = s.limited
			wideLimit = wideLimit || slices.Equal(limited, []string{"exposedapi:*/before", "exposedapi:*/after"})
		default:
			route = s.route
		}
		if route != "" && checked != nil && !slices.Contains(checked, route+"*") {
			t.Errorf("at resourceVersion %d the route takes %s while the checks cover %v; all the versions: %v", s.rv, route, checked, steps)
		}
		if route != "" && limited != nil && !slices.Contains(limited, "exposedapi:*"+route) {
			t.Errorf("at resourceVersion %d the route takes %s while the limit covers %v; all the versions: %v", s.rv, route, limited, steps)
		}
	}
	assert.True(t, wideChecks, "the checks covered both paths at one time: %v", steps)
	assert.True(t, wideLimit, "the limit covered both paths at one time: %v", steps)
	assert.Equal(t, "/after", route)
	assert.Equal(t, []string{"/after*"}, checked)
	assert.Equal(t, []string{"exposedapi:*/after"}, limited)
}

// step is one stored version of the API's route (the path it takes), of its checks (the
// paths they cover) or of its rate limit (the routes it limits).
type step struct {
	rv      uint64
	route   string
	checked []string
	limited []string
}

func limitedRoutes(ef *networkingv1alpha3.EnvoyFilter) []string {
	out := []string{}
	for _, p := range ef.Spec.ConfigPatches {
		out = append(out, p.GetMatch().GetRouteConfiguration().GetVhost().GetRoute().GetName())
	}
	return out
}

// history records every version of an API's VirtualService and AuthorizationPolicy the
// API server stores, from the ones in place when it starts.
type history struct {
	mu      sync.Mutex
	steps   []step
	watches []watch.Interface
	done    sync.WaitGroup
	stopped atomic.Bool
}

func recordHistory(t *testing.T, env *harness.Env, api *odav1.ExposedAPI) *history {
	t.Helper()
	c, err := client.NewWithWatch(env.Config, client.Options{Scheme: env.Client.Scheme()})
	require.NoError(t, err)
	h := &history{}
	byName := func(ns, name string) []client.ListOption {
		// From the watch cache's state (version "0"), which an idle kind's watch cache may
		// not know is the newest: a watch from the newest would wait for it to catch up.
		return []client.ListOption{client.InNamespace(ns), client.MatchingFields{"metadata.name": name},
			&client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: "0"}}}
	}
	for _, w := range []struct {
		list client.ObjectList
		opts []client.ListOption
	}{
		{&networkingv1.VirtualServiceList{}, byName(api.Namespace, api.Name)},
		{&securityv1.AuthorizationPolicyList{}, byName("istio-system", api.Namespace+"."+api.Name)},
		{&networkingv1alpha3.EnvoyFilterList{}, byName("istio-system", api.Namespace+"."+api.Name)},
	} {
		wi, err := c.Watch(context.Background(), w.list, w.opts...)
		require.NoError(t, err)
		h.watches = append(h.watches, wi)
		h.done.Add(1)
		go h.record(t, wi)
	}
	t.Cleanup(func() { h.stop() })
	return h
}

func (h *history) record(t *testing.T, w watch.Interface) {
	defer h.done.Done()
	for ev := range w.ResultChan() {
		if ev.Type == watch.Error && !h.stopped.Load() {
			t.Errorf("watch: %v", ev.Object)
		}
		if ev.Type != watch.Added && ev.Type != watch.Modified {
			continue
		}
		obj := ev.Object.(client.Object)
		rv, err := strconv.ParseUint(obj.GetResourceVersion(), 10, 64)
		if err != nil {
			t.Errorf("resourceVersion %q: %v", obj.GetResourceVersion(), err)
			continue
		}
		s := step{rv: rv}
		switch o := obj.(type) {
		case *networkingv1.VirtualService:
			s.route = o.Spec.Http[0].Match[0].Uri.GetPrefix()
		case *securityv1.AuthorizationPolicy:
			s.checked = []string{}
			for _, to := range o.Spec.Rules[0].To {
				s.checked = append(s.checked, to.Operation.Paths...)
			}
		case *networkingv1alpha3.EnvoyFilter:
			s.limited = limitedRoutes(o)
		default:
			t.Errorf("unexpected %T", obj)
		}
		h.mu.Lock()
		h.steps = append(h.steps, s)
		h.mu.Unlock()
	}
}

// stop ends the watches and returns the steps in the order the API server stored them.
func (h *history) stop() []step {
	h.stopped.Store(true)
	for _, w := range h.watches {
		w.Stop()
	}
	h.done.Wait()
	h.mu.Lock()
	defer h.mu.Unlock()
	out := slices.Clone(h.steps)
	slices.SortStableFunc(out, func(a, b step) int { return cmp.Compare(a.rv, b.rv) })
	return out
}

func (s step) String() string { return fmt.Sprintf("%d %q %v %v", s.rv, s.route, s.checked, s.limited) }
