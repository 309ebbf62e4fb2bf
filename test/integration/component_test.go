package integration

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/controllers/component"
	"github.com/oda-canvas/api-operator-istio/test/harness"
)

func ownedAPI(ns, name, path, impl, segment, parent string, parentUID types.UID) *odav1.ExposedAPI {
	api := harness.API(ns, name, path, impl, 8080)
	api.Spec.Segment = segment
	api.OwnerReferences = []metav1.OwnerReference{{
		APIVersion: "oda.tmforum.org/v1", Kind: "Component", Name: parent, UID: parentUID, Controller: ptr.To(true),
	}}
	return api
}

// entryOf finds the entry with uid in a raw status array.
func entryOf(status map[string]any, list, uid string) map[string]any {
	items, _ := status[list].([]any)
	for _, it := range items {
		if e, ok := it.(map[string]any); ok && e["uid"] == uid {
			return e
		}
	}
	return nil
}

func waitEntry(t *testing.T, env *harness.Env, ns, comp, list string, api *odav1.ExposedAPI, url string, ready bool) {
	t.Helper()
	harness.Eventually(t, fmt.Sprintf("%s entry of %s: url %s ready %v", list, api.Name, url, ready), func() error {
		e := entryOf(env.ComponentStatus(t, ns, comp), list, string(api.UID))
		if e == nil {
			return fmt.Errorf("no entry")
		}
		if e["url"] != url || e["ready"] != ready {
			return fmt.Errorf("entry %v", e)
		}
		return nil
	})
}

func TestComponentSummary(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		ctx := context.Background()
		env, ns := startComponents(t, set)
		for _, impl := range []string{"core", "mgmt", "sec"} {
			env.Implementation(t, ns, impl, 8080, true)
		}
		harness.StartOperator(t, env, harness.DefaultOptions())

		comp := &odav1.Component{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "shop"}}
		require.NoError(t, env.Client.Create(ctx, comp))
		apis := map[string]*odav1.ExposedAPI{
			"coreAPIs":       ownedAPI(ns, "shop-core", "/shop/core", "core", odav1.SegmentCore, "shop", comp.UID),
			"managementAPIs": ownedAPI(ns, "shop-mgmt", "/shop/mgmt", "mgmt", odav1.SegmentManagement, "shop", comp.UID),
			"securityAPIs":   ownedAPI(ns, "shop-sec", "/shop/sec", "sec", odav1.SegmentSecurity, "shop", comp.UID),
		}
		apis["coreAPIs"].Spec.DeveloperUI = "/shop/core/docs"
		status := map[string]any{"summary/status": map[string]any{"deployment_status": "In-Progress"}}
		for list, api := range apis {
			require.NoError(t, env.Client.Create(ctx, api))
			// The component operator lists each API it created, by uid, with fields of its own.
			status[list] = []any{
				map[string]any{"name": "someone-else", "uid": "not-ours", "url": "keep-me"},
				map[string]any{"name": api.Spec.Name, "uid": string(api.UID), "owner": "component-operator"},
			}
		}
		env.PatchComponentStatus(t, comp, status)

		for list, api := range apis {
			waitEntry(t, env, ns, "shop", list, api, "https://20.0.0.1"+api.Spec.Path, true)
		}
		got := env.ComponentStatus(t, ns, "shop")
		assert.Equal(t, "component-operator", entryOf(got, "coreAPIs", string(apis["coreAPIs"].UID))["owner"], "other fields of our entries stay")
		assert.Equal(t, "keep-me", entryOf(got, "coreAPIs", "not-ours")["url"], "other entries stay")
		assert.Equal(t, map[string]any{"deployment_status": "In-Progress"}, got["summary/status"])
		assert.Equal(t, "https://20.0.0.1/shop/core/docs", entryOf(got, "coreAPIs", string(apis["coreAPIs"].UID))["developerUI"])
		assert.NotContains(t, entryOf(got, "managementAPIs", string(apis["managementAPIs"].UID)), "developerUI", "an API without one")
		env.UpdateAPI(t, apis["coreAPIs"], func(a *odav1.ExposedAPI) { a.Spec.DeveloperUI = "" })
		harness.Eventually(t, "the developerUI gone from the entry", func() error {
			if e := entryOf(env.ComponentStatus(t, ns, "shop"), "coreAPIs", string(apis["coreAPIs"].UID)); e["developerUI"] != nil {
				return fmt.Errorf("entry %v", e)
			}
			return nil
		})

		// Ready follows the implementation; a concurrent writer of other status fields
		// loses none of its writes meanwhile.
		var wg sync.WaitGroup
		var writerErr error
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 1; i <= 30 && writerErr == nil; i++ {
				writerErr = env.TryPatchComponentStatus(comp, map[string]any{"summary/status": map[string]any{"deployment_status": fmt.Sprint(i)}})
			}
		}()
		for _, ready := range []bool{false, true, false} {
			env.SetReady(t, ns, "mgmt", ready)
			waitEntry(t, env, ns, "shop", "managementAPIs", apis["managementAPIs"], "https://20.0.0.1/shop/mgmt", ready)
		}
		wg.Wait()
		require.NoError(t, writerErr, "the other writer")
		got = env.ComponentStatus(t, ns, "shop")
		assert.Equal(t, map[string]any{"deployment_status": "30"}, got["summary/status"], "the other writer's last write is there")
		waitEntry(t, env, ns, "shop", "managementAPIs", apis["managementAPIs"], "https://20.0.0.1/shop/mgmt", false)
		waitEntry(t, env, ns, "shop", "coreAPIs", apis["coreAPIs"], "https://20.0.0.1/shop/core", true)
	})
}

// TestComponentCreatedLater: the ExposedAPIs exist first; the Component, and its entries,
// come later and are filled in as soon as they appear.
func TestComponentCreatedLater(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		ctx := context.Background()
		env, ns := startComponents(t, set)
		env.Implementation(t, ns, "late-impl", 8080, true)
		harness.StartOperator(t, env, harness.DefaultOptions())

		api := ownedAPI(ns, "late-api", "/late", "late-impl", "", "late", "00000000-0000-0000-0000-000000000001")
		require.NoError(t, env.Client.Create(ctx, api))
		waitReady(t, env, api, "https://20.0.0.1/late")

		comp := &odav1.Component{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "late"}}
		require.NoError(t, env.Client.Create(ctx, comp))
		env.PatchComponentStatus(t, comp, map[string]any{"coreAPIs": []any{map[string]any{"name": "late", "uid": string(api.UID)}}})
		waitEntry(t, env, ns, "late", "coreAPIs", api, "https://20.0.0.1/late", true)
	})
}

// TestComponentWritesGathered: while a Component's APIs keep changing, their changes are
// gathered, at most one write every component.MinInterval and one more once they are
// quiet, not one write per change: each write of a Component costs the API server in
// proportion to all its entries.
func TestComponentWritesGathered(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		ctx := context.Background()
		env, ns := startComponents(t, set)
		harness.StartOperator(t, env, harness.DefaultOptions())

		comp := &odav1.Component{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "shop"}}
		require.NoError(t, env.Client.Create(ctx, comp))
		const n = 30
		apis := make([]*odav1.ExposedAPI, n)
		var entries []any
		for i := range apis {
			impl := fmt.Sprintf("impl-%d", i)
			env.Implementation(t, ns, impl, 8080, true)
			apis[i] = ownedAPI(ns, fmt.Sprintf("api-%d", i), fmt.Sprintf("/shop/%d", i), impl, odav1.SegmentCore, "shop", comp.UID)
			require.NoError(t, env.Client.Create(ctx, apis[i]))
			entries = append(entries, map[string]any{"name": apis[i].Name, "uid": string(apis[i].UID)})
		}
		env.PatchComponentStatus(t, comp, map[string]any{"coreAPIs": entries})
		for _, api := range apis {
			waitEntry(t, env, ns, "shop", "coreAPIs", api, "https://20.0.0.1"+api.Spec.Path, true)
		}

		writes := countWrites(t, env, comp)
		start := time.Now()
		for i := range apis { // a change every 50 ms or so, each closer than component.Quiet
			env.SetReady(t, ns, fmt.Sprintf("impl-%d", i), false)
			time.Sleep(40 * time.Millisecond)
		}
		for _, api := range apis {
			waitEntry(t, env, ns, "shop", "coreAPIs", api, "https://20.0.0.1"+api.Spec.Path, false)
		}
		most, got := 2+int(time.Since(start)/component.MinInterval), writes()
		t.Logf("%d writes of the Component in %s", got, time.Since(start).Round(time.Millisecond))
		assert.LessOrEqual(t, got, most, "30 changes 50 ms apart: one write per component.MinInterval, and the last")
	})
}

// countWrites polls comp's resourceVersion until the test ends; the function it returns
// tells how many times it changed so far.
func countWrites(t *testing.T, env *harness.Env, comp *odav1.Component) func() int {
	var mu sync.Mutex
	versions := map[string]bool{}
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			got := &odav1.Component{}
			if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(comp), got); err == nil {
				mu.Lock()
				versions[got.ResourceVersion] = true
				mu.Unlock()
			}
			select {
			case <-done:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	t.Cleanup(func() { close(done); <-stopped })
	return func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(versions) - 1
	}
}
