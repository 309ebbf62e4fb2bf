package app

import (
	"context"
	"testing"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	fakediscovery "k8s.io/client-go/discovery/fake"
	kubetesting "k8s.io/client-go/testing"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/controllers/crdwatch"
)

// TestComponentStatusWaitsForTheCRD: without the Component kind no controller is set up (its
// watch would stop the manager at the cache-sync timeout), and that Component status is not
// kept is said once: not again at CRD changes that leave the kind absent.
func TestComponentStatusWaitsForTheCRD(t *testing.T) {
	var lines []string
	ctx := logr.NewContext(context.Background(), funcr.New(func(_, args string) { lines = append(lines, args) }, funcr.Options{}))
	absent := &fakediscovery.FakeDiscovery{Fake: &kubetesting.Fake{}}
	w := &componentWiring{served: &crdwatch.KindServed{Discovery: absent, GroupVersion: odav1.GroupVersion.String(), Resource: "components"}}
	require.NoError(t, w.setup(ctx))
	w.onCRDChange(ctx, odav1.GroupVersion.Group)
	w.onCRDChange(ctx, "monitoring.coreos.com")
	assert.False(t, w.started)
	require.Len(t, lines, 1)
	assert.Contains(t, lines[0], "Component status is not kept: the Component CRD is not installed")
}
