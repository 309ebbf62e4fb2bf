package routes

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
)

// TestMeshMembers: oldest first (ties by name), none being deleted, and one per path: the
// path's owner, after normalisation.
func TestMeshMembers(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	api := func(name, path string, age time.Duration) odav1.ExposedAPI {
		return odav1.ExposedAPI{
			ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, CreationTimestamp: metav1.NewTime(t0.Add(-age))},
			Spec:       odav1.ExposedAPISpec{Path: path},
		}
	}
	gone := api("gone", "/gone", 9*time.Hour)
	gone.DeletionTimestamp = &metav1.Time{Time: t0}
	apis := []odav1.ExposedAPI{
		api("young", "/young", time.Hour),
		api("copy", "/old/", 2*time.Hour), // same path as old, normalised, and younger
		gone,
		api("b-tie", "/b", 3*time.Hour),
		api("old", "/old", 4*time.Hour),
		api("a-tie", "/a", 3*time.Hour),
	}
	var names []string
	for _, m := range meshMembers(apis) {
		names = append(names, m.Name)
	}
	assert.Equal(t, []string{"old", "a-tie", "b-tie", "young"}, names)
}
