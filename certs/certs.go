// Package certs provides the webhook server's serving certificate. Mounted files (from
// cert-manager in a cluster) are used when present and reloaded when they change; otherwise
// the operator keeps its own CA in a Secret, issues and rotates its serving certificate, and
// writes the CA bundle into its own webhook configurations. Both are cert-manager's
// pkg/server/tls certificate sources; nothing here makes keys or certificates itself. When
// the self-managed CA rotates, the bundles keep the former CA for a while and the new leaf
// is served only once the bundles hold its CA, so no admission call fails on the way.
package certs

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	cmtls "github.com/cert-manager/cert-manager/pkg/server/tls"
	"github.com/cert-manager/cert-manager/pkg/server/tls/authority"
	admissionregistrationv1client "k8s.io/client-go/kubernetes/typed/admissionregistration/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"
)

// Options say where certificates come from.
type Options struct {
	// CertDir holds CertName and KeyName when certificates are provided.
	CertDir, CertName, KeyName string
	// SecretNamespace and SecretName name the self-managed CA's Secret.
	SecretNamespace, SecretName string
	// DNSNames of the self-managed serving certificate, e.g. <service>.<namespace>.svc.
	DNSNames []string
	// MutatingWebhookName and ValidatingWebhookName are the configurations whose CA
	// bundle the self-managed mode keeps.
	MutatingWebhookName, ValidatingWebhookName string
	// FileCheckInterval is how often mounted files are checked for changes (default 10s).
	FileCheckInterval time.Duration
}

// selfManagedCAName is the common name of the self-managed CA, by which the bundles tell
// its former CAs from other certificates.
const selfManagedCAName = "api-operator-istio-webhook-ca"

// source is what cert-manager's certificate sources have in common. Not their Healthy:
// FileCertificateSource reads its certificate there without its lock, a data race with its
// reloads; GetCertificate takes the lock and fails the same way before the first load.
type source interface {
	manager.Runnable
	GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error)
}

// Provider serves the webhook certificate.
type Provider struct {
	source source
	// gate and injector are nil when certificates are mounted.
	gate     *gatedSource
	injector *caInjector
	// mounted is nil when certificates are self-managed.
	mounted *mountedBundles
}

// New picks the mode: mounted files when CertDir holds them, else self-managed.
func New(cfg *rest.Config, r client.Reader, c client.Client, o Options) (*Provider, error) {
	if o.CertName == "" {
		o.CertName, o.KeyName = "tls.crt", "tls.key"
	}
	if o.CertDir != "" && exists(filepath.Join(o.CertDir, o.CertName)) && exists(filepath.Join(o.CertDir, o.KeyName)) {
		return &Provider{source: &cmtls.FileCertificateSource{
			CertPath:       filepath.Join(o.CertDir, o.CertName),
			KeyPath:        filepath.Join(o.CertDir, o.KeyName),
			UpdateInterval: o.FileCheckInterval,
		}, mounted: &mountedBundles{reader: r, opts: o}}, nil
	}
	if o.SecretNamespace == "" || o.SecretName == "" || len(o.DNSNames) == 0 {
		return nil, errors.New("self-managed webhook certificates need the CA Secret's namespace and name and the Service's DNS names")
	}
	ca := &authority.DynamicAuthority{
		SecretNamespace: o.SecretNamespace, SecretName: o.SecretName, RESTConfig: cfg,
		CommonName: selfManagedCAName,
	}
	watched, err := admissionregistrationv1client.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	gate := newGatedSource(&cmtls.DynamicSource{DNSNames: o.DNSNames, Authority: ca})
	return &Provider{source: gate, gate: gate, injector: newCAInjector(r, c, watched, ca, o, gate.trust)}, nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// SelfManaged tells whether the operator makes its own certificates.
func (p *Provider) SelfManaged() bool { return p.injector != nil }

// TLSOpts make a server (the webhooks', the metrics') take its certificate from the
// provider, with Hardened's settings.
func (p *Provider) TLSOpts() []func(*tls.Config) {
	return []func(*tls.Config){func(c *tls.Config) {
		c.GetCertificate = p.source.GetCertificate
		Hardened(c)
	}}
}

// Hardened asks for TLS 1.2 at least and speaks HTTP/1.1 only: HTTP/2 stream resets can be
// abused to exhaust a server (CVE-2023-44487, "rapid reset"), and neither the API server's
// admission client nor a metrics scraper needs it.
func Hardened(c *tls.Config) {
	c.MinVersion = tls.VersionTLS12
	c.NextProtos = []string{"http/1.1"}
}

// AddToManager runs the certificate source and, self-managed, the CA bundle injector on
// every replica (each serves webhooks, leader or not).
func (p *Provider) AddToManager(mgr manager.Manager) error {
	if err := mgr.Add(everyReplica{p.source}); err != nil {
		return err
	}
	if p.injector != nil {
		return mgr.Add(everyReplica{p.injector})
	}
	return nil
}

// Checker fails until a serving certificate is available and until every webhook entry's
// CA bundle has verified it once (self-managed: the injector has seen its CA there; mounted:
// cert-manager's cainjector has written it): before, the API server cannot verify it and
// every admission call fails. A write failing later does not make it fail again, the
// bundles most likely still holding the CA; a readiness flapping with the API server's
// hiccups would only take replicas out of the Service.
func (p *Provider) Checker(req *http.Request) error {
	served, err := p.source.GetCertificate(nil)
	if err != nil {
		return fmt.Errorf("no webhook serving certificate yet: %w", err)
	}
	if p.mounted != nil {
		ctx := context.Background()
		if req != nil {
			ctx = req.Context()
		}
		return p.mounted.check(ctx, served)
	}
	if p.gate.trustsCAOf(served) {
		return nil
	}
	const notYet = "the webhook serving certificate's CA is not yet in the webhook configurations' CA bundles"
	if err := p.injector.lastError(); err != nil {
		return fmt.Errorf("%s: %w", notYet, err)
	}
	return errors.New(notYet)
}

// everyReplica runs in every replica, with the manager's other runnables: after the caches
// have synced. So no replica serves admission (or is ready) before the validating webhook
// can look up routes in them (test/webhooks TestNotReadyUntilTheCachesSync).
type everyReplica struct{ manager.Runnable }

func (everyReplica) NeedLeaderElection() bool { return false }

var _ manager.LeaderElectionRunnable = everyReplica{}

// Start is the runnable's, made explicit so the embedded interface's method is used.
func (e everyReplica) Start(ctx context.Context) error { return e.Runnable.Start(ctx) }
