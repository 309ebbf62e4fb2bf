package app

import (
	"net/http"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
)

// rememberingMapper answers RESTMapping from what it answered before. The cache of a list of
// namespaces asks for a mapping on every List (is the kind namespaced?), and the dynamic
// mapper answers each by walking every API group it knows: a tenth of the operator's CPU
// while it converges. Reset forgets, as the dynamic mapper does; the operator resets its
// mapper when a CRD of a group it uses changes.
type rememberingMapper struct {
	meta.RESTMapper

	mu       sync.RWMutex
	mappings map[string]*meta.RESTMapping
}

func newRememberingMapper(inner meta.RESTMapper) *rememberingMapper {
	return &rememberingMapper{RESTMapper: inner, mappings: map[string]*meta.RESTMapping{}}
}

// newMapper is the manager's mapper: controller-runtime's dynamic one, remembering.
func newMapper(cfg *rest.Config, httpClient *http.Client) (meta.RESTMapper, error) {
	inner, err := apiutil.NewDynamicRESTMapper(cfg, httpClient)
	if err != nil {
		return nil, err
	}
	return newRememberingMapper(inner), nil
}

func (m *rememberingMapper) RESTMapping(gk schema.GroupKind, versions ...string) (*meta.RESTMapping, error) {
	key := gk.String() + "/" + strings.Join(versions, ",")
	m.mu.RLock()
	got, ok := m.mappings[key]
	m.mu.RUnlock()
	if ok {
		return got, nil
	}
	got, err := m.RESTMapper.RESTMapping(gk, versions...)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	m.mappings[key] = got
	m.mu.Unlock()
	return got, nil
}

// Reset forgets every mapping, here and in the mapper it wraps.
func (m *rememberingMapper) Reset() {
	m.mu.Lock()
	clear(m.mappings)
	m.mu.Unlock()
	if r, ok := m.RESTMapper.(meta.ResettableRESTMapper); ok {
		r.Reset()
	}
}
