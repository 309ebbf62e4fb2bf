package certs

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"sync/atomic"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// mountedBundles tells, for mounted certificates, whether the webhook configurations' CA
// bundles verify the served certificate: cert-manager's cainjector writes them a moment
// after the Secret, and before that every admission call fails its TLS check. Once they
// have, it stays ready (a rotation's lag would otherwise take every replica out of the
// Service at once) and reads nothing more.
type mountedBundles struct {
	// reader reads the API server directly: until ready, two GETs per readiness probe.
	reader client.Reader
	opts   Options
	seen   atomic.Bool
}

// check is nil once every entry of both configurations verifies served. A configuration
// that does not exist, or that RBAC does not let us read, is not ours to wait for: a
// deployment with other names, or without the grant, is not held back for ever.
func (m *mountedBundles) check(ctx context.Context, served *tls.Certificate) error {
	if m.reader == nil || m.seen.Load() {
		return nil
	}
	for _, c := range m.opts.configurations() {
		if c.name == "" {
			continue
		}
		err := m.reader.Get(ctx, client.ObjectKey{Name: c.name}, c.obj)
		if apierrors.IsNotFound(err) || apierrors.IsForbidden(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("reading the webhook configuration %s: %w", c.name, err)
		}
		for n, bundle := range bundlesOf(c.obj) {
			if err := verify(served, bundle); err != nil {
				return fmt.Errorf("the CA bundle of webhook %d of %s does not verify the mounted serving certificate yet "+
					"(cert-manager's cainjector writes it, from the annotation cert-manager.io/inject-ca-from): %w", n, c.name, err)
			}
		}
	}
	m.seen.Store(true)
	return nil
}

// verify checks served against bundle as the API server's admission client does, the
// certificate's own chain as intermediates.
func verify(served *tls.Certificate, bundle []byte) error {
	leaf := leafOf(served)
	if leaf == nil {
		return errors.New("no certificate served")
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(bundle) {
		return errors.New("the bundle holds no certificate")
	}
	intermediates := x509.NewCertPool()
	for _, der := range served.Certificate[1:] {
		if c, err := x509.ParseCertificate(der); err == nil {
			intermediates.AddCert(c)
		}
	}
	_, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: intermediates, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	return err
}
