package integration

import (
	"testing"

	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/oda-canvas/api-operator-istio/test/harness"
)

type networkingv1VirtualService = networkingv1.VirtualService

func isNotFound(err error) bool { return apierrors.IsNotFound(err) }

type discoveryEndpointSlice = discoveryv1.EndpointSlice

type networkingv1VirtualServiceList = networkingv1.VirtualServiceList

// startWithImpl is a control plane with an ingress address, namespace components holding a
// ready implementation Service impl on 8080, and the operator with default options.
func startWithImpl(t *testing.T, set harness.CRDSet) (*harness.Env, string) {
	env := harness.Start(t, set)
	ns := env.Namespace(t, "components")
	env.Gateway(t, "20.0.0.1", "")
	env.Implementation(t, ns, "impl", 8080, true)
	harness.StartOperator(t, env, harness.DefaultOptions())
	return env, ns
}
