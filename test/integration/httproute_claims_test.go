package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/controllers/exposedapi"
	"github.com/oda-canvas/api-operator-istio/internal/app"
	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// TestHTTPRouteKeptByAnInvalidSpecIsClaimed (audit): in HTTPRoute mode, an API whose spec
// became invalid keeps its HTTPRoute, and with it the route: another API asking for the same
// route is refused by the webhook, and, stored without it, loses to the kept route in the
// controller, so that one HTTPRoute serves the path. Once the kept route moves, the
// other API takes the path over; and a kept route gives way to an older valid claim.
func TestHTTPRouteKeptByAnInvalidSpecIsClaimed(t *testing.T) {
	ctx := context.Background()
	env := harness.StartWithWebhooks(t, harness.Generated, harness.GatewayAPICRDs(t)...)
	ns := env.Namespace(t, "components")
	env.Gateway(t, "20.0.0.1", "")
	env.ComponentGateway(t, "canvas", "component-gateway", "30.0.0.1", 80)
	env.Implementation(t, ns, "shop", 8080, true)
	harness.StartOperator(t, env, httpRouteOptions("canvas/component-gateway"))
	require.NoError(t, harness.WaitForWebhook(ctx, env.Client, ns, harness.Wait))

	kept := harness.API(ns, "kept", "/shop", "shop", 8080)
	require.NoError(t, env.Client.Create(ctx, kept))
	httpRoute(t, env, kept, anyHTTPRoute)
	env.JudgeRoute(t, client.ObjectKeyFromObject(kept), true, "Accepted", "")
	waitReady(t, env, kept, "https://30.0.0.1/shop")
	env.WithoutWebhooks(t, func() error {
		return updateAPI(env, kept, func(a *odav1.ExposedAPI) { a.Spec.Path, a.Spec.Port = "/moved", 0 })
	})
	waitCondition(t, env, kept, "Accepted", false, "InvalidSpec")
	servingHTTPRoutes(t, env, ns, "/shop", []string{"kept"})

	require.NoError(t, harness.WaitForWebhook(ctx, env.Client, ns, harness.Wait))
	err := env.Client.Create(ctx, harness.API(ns, "newcomer", "/shop", "shop", 8080))
	require.Error(t, err, "the webhook counts the kept HTTPRoute's route")
	assert.Contains(t, err.Error(), "route */shop on gateway canvas/component-gateway is already exposed by ExposedAPI "+ns+"/kept")

	newcomer := harness.API(ns, "newcomer", "/shop", "shop", 8080)
	env.WithoutWebhooks(t, func() error { return client.IgnoreAlreadyExists(env.Client.Create(ctx, newcomer.DeepCopy())) })
	msg := waitCondition(t, env, newcomer, "Accepted", false, "RouteConflict")
	assert.Contains(t, msg, "ExposedAPI "+ns+"/kept")
	servingHTTPRoutes(t, env, ns, "/shop", []string{"kept"})

	// Fixed, it moves to /moved, and /shop passes to the newcomer.
	env.UpdateAPI(t, kept, func(a *odav1.ExposedAPI) { a.Spec.Port = 8080 })
	servingHTTPRoutes(t, env, ns, "/moved", []string{"kept"})
	waitCondition(t, env, newcomer, "Accepted", true, "Valid")
	servingHTTPRoutes(t, env, ns, "/shop", []string{"newcomer"})

	// A kept route is the invalid API's claim, withdrawn when an older valid claim takes it.
	env.WithoutWebhooks(t, func() error {
		return updateAPI(env, newcomer, func(a *odav1.ExposedAPI) { a.Spec.Port = 0 })
	})
	waitCondition(t, env, newcomer, "Accepted", false, "InvalidSpec")
	env.WithoutWebhooks(t, func() error {
		return updateAPI(env, kept, func(a *odav1.ExposedAPI) { a.Spec.Path = "/shop" })
	})
	waitCondition(t, env, newcomer, "Programmed", false, "NotAccepted")
	servingHTTPRoutes(t, env, ns, "/shop", []string{"kept"})
}

// updateAPI is one try of harness.Env.UpdateAPI, for a store that may be retried.
func updateAPI(env *harness.Env, api *odav1.ExposedAPI, change func(*odav1.ExposedAPI)) error {
	if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(api), api); err != nil {
		return err
	}
	change(api)
	return env.Client.Update(context.Background(), api)
}

// servingHTTPRoutes waits until exactly the named HTTPRoutes in ns serve path.
func servingHTTPRoutes(t *testing.T, env *harness.Env, ns, path string, want []string) {
	t.Helper()
	harness.Eventually(t, fmt.Sprintf("%s served by HTTPRoutes %v", path, want), func() error {
		var list gatewayv1.HTTPRouteList
		if err := env.Client.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
			return err
		}
		var serving []string
		for _, hr := range list.Items {
			for _, rule := range hr.Spec.Rules {
				for _, m := range rule.Matches {
					if m.Path != nil && m.Path.Value != nil && *m.Path.Value == path {
						serving = append(serving, hr.Name)
					}
				}
			}
		}
		if fmt.Sprint(serving) != fmt.Sprint(want) {
			return fmt.Errorf("served by %v", serving)
		}
		return nil
	})
}

// TestStandbyReplicaAdmitsInHTTPRouteMode: a replica that is not the leader serves the
// webhooks too, and in HTTPRoute mode their conflict check reads the HTTPRoutes, so their
// cache runs without the lease: a standby admits a new API (and refuses a conflict) as the
// leader would.
func TestStandbyReplicaAdmitsInHTTPRouteMode(t *testing.T) {
	ctx := context.Background()
	env := harness.StartWithWebhooks(t, harness.Generated, harness.GatewayAPICRDs(t)...)
	ns := env.Namespace(t, "components")
	env.Namespace(t, "operators")
	env.ComponentGateway(t, "canvas", "component-gateway", "30.0.0.1", 80)
	holdLease(t, env, "operators")
	o := httpRouteOptions("canvas/component-gateway")
	o.LeaderElect, o.LeaderElectionNamespace = true, "operators"
	harness.StartOperator(t, env, o)
	require.NoError(t, harness.WaitForWebhook(ctx, env.Client, ns, harness.Wait))

	require.NoError(t, env.Client.Create(ctx, harness.API(ns, "shop", "/shop", "shop", 8080)), "admitted by a standby")
	err := env.Client.Create(ctx, harness.API(ns, "copy", "/shop", "shop", 8080))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "is already exposed by ExposedAPI "+ns+"/shop")
}

// TestStandbyReplicaCountsHTTPRoutesOfLateCRDs: the Gateway API CRDs installed after a
// standby replica started reach its webhook too, not the leader's caches alone: once they
// are, the standby refuses an API whose route an HTTPRoute kept by another API serves.
func TestStandbyReplicaCountsHTTPRoutesOfLateCRDs(t *testing.T) {
	ctx := context.Background()
	env := harness.StartWithWebhooks(t, harness.Generated)
	ns := env.Namespace(t, "components")
	env.Namespace(t, "operators")
	holdLease(t, env, "operators")
	o := httpRouteOptions("canvas/component-gateway")
	o.LeaderElect, o.LeaderElectionNamespace = true, "operators"
	harness.StartOperator(t, env, o)
	require.NoError(t, harness.WaitForWebhook(ctx, env.Client, ns, harness.Wait))
	kept := harness.API(ns, "kept", "/moved", "shop", 8080)
	require.NoError(t, env.Client.Create(ctx, kept))

	for _, path := range harness.GatewayAPICRDs(t) {
		for _, crd := range harness.ReadCRDs(t, path) {
			require.NoError(t, env.Client.Create(ctx, crd))
		}
	}
	// The route kept's former spec asked for, as the leader made it.
	hr := &gatewayv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: kept.Name, Labels: exposedapi.ChildLabels(kept)}}
	hr.Spec.ParentRefs = []gatewayv1.ParentReference{{Namespace: ptr.To[gatewayv1.Namespace]("canvas"), Name: "component-gateway"}}
	hr.Spec.Rules = []gatewayv1.HTTPRouteRule{{Matches: []gatewayv1.HTTPRouteMatch{{Path: &gatewayv1.HTTPPathMatch{
		Type: ptr.To(gatewayv1.PathMatchPathPrefix), Value: ptr.To("/shop")}}}}}
	require.NoError(t, controllerutil.SetControllerReference(kept, hr, env.Client.Scheme()))
	harness.Eventually(t, "the HTTPRoute kind served", func() error { return env.Client.Create(ctx, hr) })

	harness.Eventually(t, "the standby's webhook counting the kept HTTPRoute", func() error {
		err := env.Client.Create(ctx, harness.API(ns, "newcomer", "/shop", "shop", 8080), client.DryRunAll)
		if err == nil || !strings.Contains(err.Error(), "is already exposed by ExposedAPI "+ns+"/kept") {
			return fmt.Errorf("admitted or refused otherwise: %v", err)
		}
		return nil
	})
}

// holdLease makes another replica the operator's leader, in ns.
func holdLease(t *testing.T, env *harness.Env, ns string) {
	t.Helper()
	held := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: app.LeaderElectionID},
		Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To("the-leader"), LeaseDurationSeconds: ptr.To[int32](3600),
			AcquireTime: &metav1.MicroTime{Time: time.Now()}, RenewTime: &metav1.MicroTime{Time: time.Now()}}}
	require.NoError(t, env.Client.Create(context.Background(), held))
}
