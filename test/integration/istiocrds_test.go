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

	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// TestVirtualServicesBackWithIstiosCRDs (fault audit): Istio's CRDs removed and installed
// again take every VirtualService with them; while the kind is gone each API's retries back
// off, so the kind's return wakes every API, which makes its VirtualService again within
// seconds rather than at its next retry.
func TestVirtualServicesBackWithIstiosCRDs(t *testing.T) {
	ctx := context.Background()
	env, ns := startWithImplAnd(t, harness.Generated, nil)
	api := harness.API(ns, "shop", "/shop", "impl", 8080)
	require.NoError(t, env.Client.Create(ctx, api))
	virtualService(t, env, api, routeIs("*", "component-gateway", "/shop", "impl", 8080))

	var vsCRD *apiextensionsv1.CustomResourceDefinition
	for _, crd := range harness.ReadCRDs(t, harness.IstioCRDs(t)) {
		if crd.Name == "virtualservices.networking.istio.io" {
			vsCRD = crd
		}
	}
	require.NotNil(t, vsCRD)
	gone := vsCRD.DeepCopy()
	require.NoError(t, env.Client.Delete(ctx, gone))
	harness.Eventually(t, "the VirtualService CRD gone", func() error {
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(gone), gone); !apierrors.IsNotFound(err) {
			return fmt.Errorf("still there (%v)", err)
		}
		return nil
	})
	// Long enough for the API's failing retries to back off past the wait below.
	time.Sleep(40 * time.Second)
	require.NoError(t, env.Client.Create(ctx, vsCRD))

	deadline := time.Now().Add(15 * time.Second)
	vs := &networkingv1.VirtualService{}
	var err error
	for time.Now().Before(deadline) {
		if err = env.Client.Get(ctx, client.ObjectKeyFromObject(api), vs); err == nil {
			return
		}
		time.Sleep(harness.Tick)
	}
	t.Fatalf("no VirtualService 15 s after the CRD came back: %v", err)
}
