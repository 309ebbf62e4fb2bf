package integration

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

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

// quiet is how long a controller must finish no reconcile to count as settled: longer
// than a status write takes to come back as a watch event and be reconciled.
const quiet = time.Second

// settledReconciles waits until the controllers have finished no reconcile for q and
// returns their count, so that a rise after it is caused by what the test does next and
// not by a straggler (a status echo, a child's event) left over from converging.
func settledReconciles(t *testing.T, q time.Duration, controllers ...string) float64 {
	t.Helper()
	count := func() float64 {
		n := 0.0
		for _, c := range controllers {
			n += harness.ReconcileCount(t, c)
		}
		return n
	}
	deadline := time.Now().Add(harness.Wait)
	last, since := count(), time.Now()
	for time.Since(since) < q {
		if time.Now().After(deadline) {
			t.Fatalf("reconciles of %v never settled for %v: %v", controllers, q, last)
		}
		time.Sleep(harness.Tick)
		if n := count(); n != last {
			last, since = n, time.Now()
		}
	}
	return last
}

// resync makes the operator reconcile each converged API once more with an annotation
// change (which reaches the reconciler but changes nothing it decides on) and waits until
// those reconciles, and whatever they set off, have finished.
func resync(t *testing.T, env *harness.Env, apis ...*odav1.ExposedAPI) {
	t.Helper()
	resyncFrom(t, env, settledReconciles(t, quiet, "exposedapi"), apis...)
}

// resyncFrom is resync once the exposedapi reconciles have settled at before.
func resyncFrom(t *testing.T, env *harness.Env, before float64, apis ...*odav1.ExposedAPI) {
	t.Helper()
	ctx := context.Background()
	for _, api := range apis {
		require.NoError(t, env.Client.Get(ctx, client.ObjectKeyFromObject(api), api))
		patch := client.MergeFrom(api.DeepCopy())
		if api.Annotations == nil {
			api.Annotations = map[string]string{}
		}
		api.Annotations["test/resync"] = time.Now().Format(time.RFC3339Nano)
		require.NoError(t, env.Client.Patch(ctx, api, patch))
	}
	// Nothing was pending before the patches, so each API's rise is its own reconcile.
	reconciledSince(t, before, len(apis))
}

// reconciledSince waits until the exposedapi controller has finished at least n reconciles
// since its count was before, settled, and then until it settles again, so that what those
// reconciles and their echoes write can be read.
func reconciledSince(t *testing.T, before float64, n int) {
	t.Helper()
	harness.Eventually(t, fmt.Sprintf("%d exposedapi reconciles", n), func() error {
		if got := harness.ReconcileCount(t, "exposedapi") - before; got < float64(n) {
			return fmt.Errorf("%v reconciles, want %d", got, n)
		}
		return nil
	})
	settledReconciles(t, quiet, "exposedapi")
}
