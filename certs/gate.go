package certs

import (
	"crypto/tls"
	"crypto/x509"
	"slices"
	"sync"
	"time"
)

// gatedSource serves a new leaf only once the API server trusts its CA. cert-manager's
// DynamicSource signs a new leaf the moment its CA rotates, before the injector has written
// the new CA into the webhook configurations; served at once, it would fail admission calls
// (and so ExposedAPI writes, under failurePolicy Fail) until the bundle caught up.
type gatedSource struct {
	source
	// settle is how long after the injector saw a CA in every bundle the API server is
	// taken to have it too: it reads webhook configurations through a watch.
	settle time.Duration
	now    func() time.Time

	mu      sync.Mutex
	served  *tls.Certificate
	trusted []trustedCA
	// checked and checkedTrust remember the last leaf found untrusted, so a handshake does
	// not verify a signature again until the trusted CAs change.
	checked      *tls.Certificate
	checkedTrust int
}

type trustedCA struct {
	cert  *x509.Certificate
	since time.Time
}

func newGatedSource(s source) *gatedSource {
	return &gatedSource{source: s, settle: 2 * time.Second, now: time.Now}
}

// GetCertificate keeps serving the leaf it served while the source's newer one is of a CA
// the bundles do not hold yet, unless the served leaf has expired.
func (g *gatedSource) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	next, err := g.source.GetCertificate(hello)
	if err != nil {
		return nil, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if next != g.served && (g.served == nil || g.expired(g.served) || g.trusts(next)) {
		g.served = next
	}
	return g.served, nil
}

// trust records that every webhook configuration's bundle holds ca.
func (g *gatedSource) trust(ca *x509.Certificate) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !slices.ContainsFunc(g.trusted, func(t trustedCA) bool { return t.cert.Equal(ca) }) {
		g.trusted = append(g.trusted, trustedCA{cert: ca, since: g.now()})
	}
}

// trustsCAOf tells whether leaf was signed by a CA ever seen in every bundle, settled or not.
func (g *gatedSource) trustsCAOf(leaf *tls.Certificate) bool {
	l := leafOf(leaf)
	if l == nil {
		return false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.ContainsFunc(g.trusted, func(t trustedCA) bool { return l.CheckSignatureFrom(t.cert) == nil })
}

func (g *gatedSource) trusts(leaf *tls.Certificate) bool {
	var settled []*x509.Certificate
	for _, t := range g.trusted {
		if !g.now().Before(t.since.Add(g.settle)) {
			settled = append(settled, t.cert)
		}
	}
	if leaf == g.checked && len(settled) == g.checkedTrust {
		return false
	}
	g.checked, g.checkedTrust = leaf, len(settled)
	l := leafOf(leaf)
	return l != nil && slices.ContainsFunc(settled, func(ca *x509.Certificate) bool { return l.CheckSignatureFrom(ca) == nil })
}

func (g *gatedSource) expired(c *tls.Certificate) bool {
	l := leafOf(c)
	return l == nil || !g.now().Before(l.NotAfter)
}

func leafOf(c *tls.Certificate) *x509.Certificate {
	if c.Leaf != nil {
		return c.Leaf
	}
	if len(c.Certificate) == 0 {
		return nil
	}
	l, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		return nil
	}
	return l
}
