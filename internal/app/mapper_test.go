package app

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// countingMapper is a DefaultRESTMapper that counts the mappings asked of it and its resets.
type countingMapper struct {
	*meta.DefaultRESTMapper
	asked, resets int
}

func (c *countingMapper) RESTMapping(gk schema.GroupKind, versions ...string) (*meta.RESTMapping, error) {
	c.asked++
	return c.DefaultRESTMapper.RESTMapping(gk, versions...)
}

func (c *countingMapper) Reset() { c.resets++ }

func TestRememberingMapper(t *testing.T) {
	gv := schema.GroupVersion{Group: "oda.tmforum.org", Version: "v1"}
	inner := &countingMapper{DefaultRESTMapper: meta.NewDefaultRESTMapper([]schema.GroupVersion{gv})}
	inner.Add(gv.WithKind("ExposedAPI"), meta.RESTScopeNamespace)
	m := newRememberingMapper(inner)
	gk := schema.GroupKind{Group: gv.Group, Kind: "ExposedAPI"}

	for range 3 {
		got, err := m.RESTMapping(gk, "v1")
		require.NoError(t, err)
		assert.Equal(t, "exposedapis", got.Resource.Resource)
		assert.Equal(t, meta.RESTScopeNameNamespace, got.Scope.Name())
	}
	assert.Equal(t, 1, inner.asked, "asked once, then remembered")

	_, err := m.RESTMapping(schema.GroupKind{Group: gv.Group, Kind: "Unknown"}, "v1")
	assert.True(t, meta.IsNoMatchError(err), "errors pass through: %v", err)
	_, err = m.RESTMapping(schema.GroupKind{Group: gv.Group, Kind: "Unknown"}, "v1")
	assert.Error(t, err)
	assert.Equal(t, 3, inner.asked, "errors are not remembered: the kind may be served later")

	m.Reset()
	assert.Equal(t, 1, inner.resets, "the wrapped mapper is reset too")
	_, err = m.RESTMapping(gk, "v1")
	require.NoError(t, err)
	assert.Equal(t, 4, inner.asked, "asked again after a reset")
}
