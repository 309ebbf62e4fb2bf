package integration

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// TestRoutesBackWithTheirCRDs (fault audit): a route kind's CRD removed and installed again
// (Istio's or the Gateway API's reinstalled) takes every route of the kind with it; while
// the kind is gone each API's retries back off, so the kind's return wakes every API, which
// makes its route again within seconds rather than at its next retry.
func TestRoutesBackWithTheirCRDs(t *testing.T) {
	t.Run("VirtualService", func(t *testing.T) {
		env, ns := startWithImplAnd(t, harness.Generated, nil)
		routeBackWithItsCRD(t, env, ns, harness.IstioCRDs(t), "virtualservices.networking.istio.io", &networkingv1.VirtualService{})
	})
	t.Run("HTTPRoute", func(t *testing.T) {
		env := harness.Start(t, harness.Generated, harness.GatewayAPICRDs(t)...)
		ns := env.Namespace(t, "components")
		env.ComponentGateway(t, "canvas", "component-gateway", "30.0.0.1", 80)
		env.Implementation(t, ns, "impl", 8080, true)
		harness.StartOperator(t, env, httpRouteOptions("canvas/component-gateway"))
		var crds string
		for _, path := range harness.GatewayAPICRDs(t) {
			for _, crd := range harness.ReadCRDs(t, path) {
				if crd.Name == "httproutes.gateway.networking.k8s.io" {
					crds = path
				}
			}
		}
		routeBackWithItsCRD(t, env, ns, crds, "httproutes.gateway.networking.k8s.io", &gatewayv1.HTTPRoute{})
	})
}

// routeBackWithItsCRD removes the CRD named crd (read from the file crds) under an API's
// route of that kind, puts it back after a while, and wants the route back within 15 s.
func routeBackWithItsCRD(t *testing.T, env *harness.Env, ns, crds, crd string, route client.Object) {
	ctx := context.Background()
	api := harness.API(ns, "shop", "/shop", "impl", 8080)
	require.NoError(t, env.Client.Create(ctx, api))
	harness.Eventually(t, "the API's route", func() error { return env.Client.Get(ctx, client.ObjectKeyFromObject(api), route) })

	var def *apiextensionsv1.CustomResourceDefinition
	for _, c := range harness.ReadCRDs(t, crds) {
		if c.Name == crd {
			def = c
		}
	}
	require.NotNil(t, def)
	gone := def.DeepCopy()
	require.NoError(t, env.Client.Delete(ctx, gone))
	harness.Eventually(t, "the CRD gone", func() error {
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(gone), gone); !apierrors.IsNotFound(err) {
			return fmt.Errorf("still there (%v)", err)
		}
		return nil
	})
	// Long enough for the API's failing retries to back off past the wait below.
	time.Sleep(40 * time.Second)
	require.NoError(t, env.Client.Create(ctx, def))

	deadline := time.Now().Add(15 * time.Second)
	var err error
	for time.Now().Before(deadline) {
		if err = env.Client.Get(ctx, client.ObjectKeyFromObject(api), route); err == nil {
			return
		}
		time.Sleep(harness.Tick)
	}
	t.Fatalf("no route 15 s after the CRD came back: %v", err)
}
