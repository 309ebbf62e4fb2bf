package harness

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/client-go/discovery"
	"sigs.k8s.io/controller-runtime/pkg/client"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
)

// SetStatusSubresource makes every version of the oda.tmforum.org CRD of resource
// (exposedapis, components) serve /status or not, as swapping our CRD for the canvas's does,
// and waits until discovery says so.
func (e *Env) SetStatusSubresource(t testing.TB, resource string, serves bool) {
	t.Helper()
	ctx := context.Background()
	crd := &apiextensionsv1.CustomResourceDefinition{}
	require.NoError(t, e.Client.Get(ctx, client.ObjectKey{Name: resource + "." + odav1.GroupVersion.Group}, crd))
	for i := range crd.Spec.Versions {
		crd.Spec.Versions[i].Subresources = nil
		if serves {
			crd.Spec.Versions[i].Subresources = &apiextensionsv1.CustomResourceSubresources{Status: &apiextensionsv1.CustomResourceSubresourceStatus{}}
		}
	}
	require.NoError(t, e.Client.Update(ctx, crd))
	dc := discovery.NewDiscoveryClientForConfigOrDie(e.Config)
	Eventually(t, fmt.Sprintf("discovery to say %s/status is served: %v", resource, serves), func() error {
		list, err := dc.ServerResourcesForGroupVersion(odav1.GroupVersion.String())
		if err != nil {
			return err
		}
		served := false
		for _, r := range list.APIResources {
			served = served || r.Name == resource+"/status"
		}
		if served != serves {
			return fmt.Errorf("served: %v", served)
		}
		return nil
	})
}
