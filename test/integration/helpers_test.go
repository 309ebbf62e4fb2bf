package integration

import (
	"context"
	"testing"

	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/internal/app"
	"github.com/oda-canvas/api-operator-istio/test/harness"
)

type networkingv1VirtualService = networkingv1.VirtualService

func isNotFound(err error) bool { return apierrors.IsNotFound(err) }

type discoveryEndpointSlice = discoveryv1.EndpointSlice

type networkingv1VirtualServiceList = networkingv1.VirtualServiceList

// startWithImpl is a control plane with an ingress address, namespace components holding a
// ready implementation Service impl on 8080, and the operator with default options.
func startWithImpl(t *testing.T, set harness.CRDSet) (*harness.Env, string) {
	return startWithImplAnd(t, set, nil)
}

// startWithImplAnd is startWithImpl with the default options changed by configure.
func startWithImplAnd(t *testing.T, set harness.CRDSet, configure func(*app.Options)) (*harness.Env, string) {
	env, ns := startComponents(t, set)
	env.Implementation(t, ns, "impl", 8080, true)
	o := harness.DefaultOptions()
	if configure != nil {
		configure(o)
	}
	harness.StartOperator(t, env, o)
	return env, ns
}

// startComponents is a control plane with an ingress address and namespace components.
func startComponents(t *testing.T, set harness.CRDSet) (*harness.Env, string) {
	env := harness.Start(t, set)
	ns := env.Namespace(t, "components")
	env.Gateway(t, "20.0.0.1", "")
	return env, ns
}

// createOther creates API "other" on /other, whose children a test checks it leaves alone.
func createOther(t *testing.T, env *harness.Env, ns string) *odav1.ExposedAPI {
	t.Helper()
	other := harness.API(ns, "other", "/other", "impl", 8080)
	if err := env.Client.Create(context.Background(), other); err != nil {
		t.Fatal(err)
	}
	return other
}
