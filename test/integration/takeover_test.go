package integration

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// waitNoURL waits until the API's entry in the Component lists no url, with ready as given.
func waitNoURL(t *testing.T, env *harness.Env, ns, comp string, api *odav1.ExposedAPI, ready bool) {
	t.Helper()
	harness.Eventually(t, fmt.Sprintf("coreAPIs entry of %s without url", api.Name), func() error {
		e := entryOf(env.ComponentStatus(t, ns, comp), "coreAPIs", string(api.UID))
		if e == nil || e["url"] != nil || e["ready"] != ready {
			return fmt.Errorf("entry %v", e)
		}
		return nil
	})
}

// TestLoserTakesOverWhenTheWinnerMoves (R2.3, R5.1): two APIs of one Component claim one
// route (named in the order of their creation, which may fall in the same second); when
// the winner's path or hostname moves off it, the loser takes it over, and when the winner
// comes back, it gives it back. Statuses and Component entries follow.
func TestLoserTakesOverWhenTheWinnerMoves(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		ctx := context.Background()
		env, ns := startWithImpl(t, set)
		comp := &odav1.Component{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "shop"}}
		require.NoError(t, env.Client.Create(ctx, comp))
		winner := ownedAPI(ns, "first", "/shared", "impl", "", "shop", comp.UID)
		require.NoError(t, env.Client.Create(ctx, winner))
		waitReady(t, env, winner, "https://20.0.0.1/shared")
		loser := ownedAPI(ns, "second", "/shared", "impl", "", "shop", comp.UID)
		require.NoError(t, env.Client.Create(ctx, loser))
		env.PatchComponentStatus(t, comp, map[string]any{"coreAPIs": []any{
			map[string]any{"name": "first", "uid": string(winner.UID)},
			map[string]any{"name": "second", "uid": string(loser.UID)},
		}})
		servingRoute(t, env, ns, "/shared", []string{"first"}, loser, "RouteConflict")
		waitEntry(t, env, ns, "shop", "coreAPIs", winner, "https://20.0.0.1/shared", true)
		waitNoURL(t, env, ns, "shop", loser, true)

		env.UpdateAPI(t, winner, func(a *odav1.ExposedAPI) { a.Spec.Path = "/moved" })
		waitReady(t, env, winner, "https://20.0.0.1/moved")
		servingRoute(t, env, ns, "/shared", []string{"second"}, loser, "Valid")
		waitReady(t, env, loser, "https://20.0.0.1/shared")
		waitEntry(t, env, ns, "shop", "coreAPIs", loser, "https://20.0.0.1/shared", true)
		waitEntry(t, env, ns, "shop", "coreAPIs", winner, "https://20.0.0.1/moved", true)

		// Back on the route, the oldest claimant has it again.
		env.UpdateAPI(t, winner, func(a *odav1.ExposedAPI) { a.Spec.Path = "/shared" })
		servingRoute(t, env, ns, "/shared", []string{"first"}, loser, "RouteConflict")
		waitReady(t, env, winner, "https://20.0.0.1/shared")
		waitNoURL(t, env, ns, "shop", loser, true)
		waitEntry(t, env, ns, "shop", "coreAPIs", winner, "https://20.0.0.1/shared", true)

		// A hostname of its own is another route.
		env.UpdateAPI(t, winner, func(a *odav1.ExposedAPI) { a.Spec.Hostname = "shop.example.com" })
		waitReady(t, env, winner, "https://shop.example.com/shared")
		waitReady(t, env, loser, "https://20.0.0.1/shared")
		waitCondition(t, env, loser, "Accepted", true, "Valid")
		virtualService(t, env, loser, routeIs("*", "component-gateway", "/shared", "impl", 8080))
		virtualService(t, env, winner, routeIs("shop.example.com", "component-gateway", "/shared", "impl", 8080))
		waitEntry(t, env, ns, "shop", "coreAPIs", loser, "https://20.0.0.1/shared", true)
		waitEntry(t, env, ns, "shop", "coreAPIs", winner, "https://shop.example.com/shared", true)
	})
}

// TestDeletedWinnerHeldByAFinalizer (R2.3, R3.3): a winner being deleted, but held by a
// finalizer (another controller's, or ours while it takes metrics annotations off pods),
// gives its route up at once: the loser takes the route over, and the winner's
// VirtualService goes then rather than after the finalizer, so that two VirtualServices
// never serve one path. Garbage collection (envtest runs none) would remove it only once the
// API is gone.
func TestDeletedWinnerHeldByAFinalizer(t *testing.T) {
	ctx := context.Background()
	env, ns := startWithImpl(t, harness.Generated)
	const hold = "test.example.com/hold"
	winner := harness.API(ns, "first", "/shared", "impl", 8080)
	winner.Finalizers = []string{hold}
	require.NoError(t, env.Client.Create(ctx, winner))
	waitReady(t, env, winner, "https://20.0.0.1/shared")
	loser := harness.API(ns, "second", "/shared", "impl", 8080)
	require.NoError(t, env.Client.Create(ctx, loser))
	servingRoute(t, env, ns, "/shared", []string{"first"}, loser, "RouteConflict")

	require.NoError(t, env.Client.Delete(ctx, winner))
	servingRoute(t, env, ns, "/shared", []string{"second"}, loser, "Valid")
	waitReady(t, env, loser, "https://20.0.0.1/shared")
	env.WaitAPI(t, winner, "still held by its finalizer", func(got *odav1.ExposedAPI) error {
		if got.DeletionTimestamp == nil {
			return fmt.Errorf("not being deleted")
		}
		return nil
	})
	waitCondition(t, env, winner, "Programmed", false, "Deleting")
	assert.Nil(t, getAPI(t, env, winner).Status.APIStatus, "the URL is the loser's now")

	env.UpdateAPI(t, winner, func(a *odav1.ExposedAPI) { a.Finalizers = nil })
	waitGone(t, env, winner)
}
