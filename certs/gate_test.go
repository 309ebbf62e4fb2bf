package certs

import (
	"context"
	"crypto/tls"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// stubSource serves whatever leaf the test sets, as DynamicSource does after re-signing.
type stubSource struct{ leaf *tls.Certificate }

func (s *stubSource) Start(context.Context) error { return nil }
func (s *stubSource) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	if s.leaf == nil {
		return nil, errors.New("no certificate yet")
	}
	return s.leaf, nil
}

// TestGateServesANewLeafOnceItsCAIsTrusted: the leaf of a rotated CA is served only once
// the injector has seen that CA in every bundle and the settle time has passed.
func TestGateServesANewLeafOnceItsCAIsTrusted(t *testing.T) {
	now := time.Now()
	clock := now
	oldCA := newTestCA(t, selfManagedCAName, now.Add(-time.Hour), now.Add(time.Hour))
	newCA := newTestCA(t, selfManagedCAName, now.Add(-time.Minute), now.Add(2*time.Hour))
	src := &stubSource{}
	g := newGatedSource(src)
	g.now = func() time.Time { return clock }

	_, err := g.GetCertificate(nil)
	require.Error(t, err, "nothing to serve yet")
	oldLeaf := oldCA.leaf(t, now.Add(time.Hour))
	src.leaf = oldLeaf
	assertServes(t, g, oldLeaf, "the first leaf is served at once, trusted or not")

	newLeaf := newCA.leaf(t, now.Add(time.Hour))
	src.leaf = newLeaf
	assertServes(t, g, oldLeaf, "the new CA is not in the bundles yet")
	g.trust(oldCA.cert)
	assertServes(t, g, oldLeaf, "another CA trusted does not do")
	g.trust(newCA.cert)
	assertServes(t, g, oldLeaf, "trusted, but the API server may not have read the bundle yet")
	clock = clock.Add(g.settle)
	assertServes(t, g, newLeaf, "trusted and settled")
}

// TestGateLetsAnExpiredLeafGo: if the bundles never get the new CA (the injector cannot
// write), the former leaf is served until it expires, then the new one.
func TestGateLetsAnExpiredLeafGo(t *testing.T) {
	now := time.Now()
	clock := now
	oldCA := newTestCA(t, selfManagedCAName, now.Add(-time.Hour), now.Add(time.Hour))
	newCA := newTestCA(t, selfManagedCAName, now.Add(-time.Minute), now.Add(2*time.Hour))
	oldLeaf := oldCA.leaf(t, now.Add(10*time.Minute))
	src := &stubSource{leaf: oldLeaf}
	g := newGatedSource(src)
	g.now = func() time.Time { return clock }
	assertServes(t, g, oldLeaf, "first leaf")

	newLeaf := newCA.leaf(t, now.Add(time.Hour))
	src.leaf = newLeaf
	assertServes(t, g, oldLeaf, "untrusted CA")
	clock = now.Add(11 * time.Minute)
	assertServes(t, g, newLeaf, "the served leaf expired")
}

func assertServes(t *testing.T, g *gatedSource, want *tls.Certificate, why string) {
	t.Helper()
	got, err := g.GetCertificate(nil)
	require.NoError(t, err)
	assert.Same(t, want, got, why)
}
