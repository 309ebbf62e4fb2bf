package component

import (
	"testing"

	"github.com/stretchr/testify/assert"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
)

// TestParentIsAnODAComponent: only an ODA Component, of any version of its group, is an
// API's parent; a kind named Component in another group is not.
func TestParentIsAnODAComponent(t *testing.T) {
	for apiVersion, want := range map[string][]string{
		"oda.tmforum.org/v1":      {"shop"},
		"oda.tmforum.org/v1beta3": {"shop"},
		"core.oam.dev/v1beta1":    nil,
		"v1":                      nil,
		"oda.tmforum.org/v1/x":    nil,
	} {
		api := &odav1.ExposedAPI{ObjectMeta: metav1.ObjectMeta{OwnerReferences: []metav1.OwnerReference{
			{APIVersion: apiVersion, Kind: "Component", Name: "shop", UID: "u"},
		}}}
		assert.Equal(t, want, parentName(api), apiVersion)
	}
}
