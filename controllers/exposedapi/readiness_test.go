package exposedapi

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestSlimEndpointSliceKeepsReadiness(t *testing.T) {
	slice := func(ready ...*bool) *discoveryv1.EndpointSlice {
		s := &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "impl-x", ResourceVersion: "3",
			Labels:          map[string]string{discoveryv1.LabelServiceName: "impl"},
			OwnerReferences: []metav1.OwnerReference{{Kind: "Service", Name: "impl"}}}}
		for _, r := range ready {
			s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{Addresses: []string{"10.0.0.1"},
				Conditions: discoveryv1.EndpointConditions{Ready: r}})
		}
		return s
	}
	for name, c := range map[string]struct {
		in    *discoveryv1.EndpointSlice
		ready bool
	}{
		"no endpoints":            {slice(), false},
		"none ready":              {slice(ptr.To(false), ptr.To(false)), false},
		"one of two ready":        {slice(ptr.To(false), ptr.To(true)), true},
		"ready unset means ready": {slice(nil), true},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := SlimEndpointSlice(c.in)
			require.NoError(t, err)
			slim := got.(*discoveryv1.EndpointSlice)
			assert.Equal(t, c.ready, anyReady(slim))
			assert.Equal(t, []string{"impl"}, indexServiceName(slim))
			assert.Equal(t, "3", slim.ResourceVersion)
			assert.Empty(t, slim.OwnerReferences)
			assert.LessOrEqual(t, len(slim.Endpoints), 1)
		})
	}
}
