// Package certs provides the webhook server's serving certificate (SPEC R6.2). Mounted files
// (from cert-manager in a cluster) are used when present and reloaded when they change;
// otherwise the operator keeps its own CA in a Secret, issues and rotates its serving
// certificate, and writes the CA bundle into its own webhook configurations. Both modes are
// cert-manager's pkg/server/tls certificate sources: nothing here makes keys or certificates.
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
	"github.com/go-logr/logr"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"
)

// Defaults of Options. The CA lives long and the leaf short, so a leaked serving key is
// useful briefly; both are renewed at two thirds of their life.
const (
	DefaultCertName     = "tls.crt"
	DefaultKeyName      = "tls.key"
	DefaultCADuration   = 365 * 24 * time.Hour
	DefaultLeafDuration = 7 * 24 * time.Hour
)

// Options say where certificates come from.
type Options struct {
	// CertDir holds CertName and KeyName when certificates are provided (default tls.crt
	// and tls.key). When it does not, the operator manages its own.
	CertDir, CertName, KeyName string
	// FileCheckInterval is how often mounted files are checked for changes (default 10s).
	FileCheckInterval time.Duration

	// SecretNamespace and SecretName name the self-managed CA's Secret, created if absent.
	SecretNamespace, SecretName string
	// DNSNames of the self-managed serving certificate, e.g. <service>.<namespace>.svc.
	DNSNames []string
	// MutatingWebhookName and ValidatingWebhookName are the configurations whose CA
	// bundle the self-managed mode keeps; an empty name or a missing one is skipped.
	MutatingWebhookName, ValidatingWebhookName string
	// CADuration and LeafDuration are the self-managed certificates' lifetimes.
	CADuration, LeafDuration time.Duration
}

// source is what cert-manager's certificate sources have in common.
type source interface {
	Start(context.Context) error
	GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error)
}

// Provider serves the webhook certificate. It is a manager.Runnable that runs on every
// replica, leader or not, because every replica serves webhooks.
type Provider struct {
	source   source
	injector *caInjector // nil when certificates are mounted
}

var (
	_ manager.Runnable               = &Provider{}
	_ manager.LeaderElectionRunnable = &Provider{}
)

// New picks the mode: mounted files when CertDir holds both, else self-managed. cfg, r and
// c are only used self-managed: cfg for the CA Secret's watch, r to read the CA Secret and
// the webhook configurations (use an uncached reader: a cache would hold every Secret),
// c to patch the configurations.
func New(cfg *rest.Config, r client.Reader, c client.Client, o Options) (*Provider, error) {
	o = withDefaults(o)
	certPath, keyPath := filepath.Join(o.CertDir, o.CertName), filepath.Join(o.CertDir, o.KeyName)
	if o.CertDir != "" && exists(certPath) && exists(keyPath) {
		return &Provider{source: &cmtls.FileCertificateSource{
			CertPath: certPath, KeyPath: keyPath, UpdateInterval: o.FileCheckInterval,
		}}, nil
	}
	if err := validateSelfManaged(cfg, r, c, o); err != nil {
		return nil, err
	}
	ca := &authority.DynamicAuthority{
		SecretNamespace: o.SecretNamespace, SecretName: o.SecretName, RESTConfig: cfg,
		CommonName: "api-operator-istio-webhook-ca",
		CADuration: o.CADuration, LeafDuration: o.LeafDuration,
	}
	return &Provider{
		source:   &cmtls.DynamicSource{DNSNames: o.DNSNames, Authority: ca},
		injector: newCAInjector(r, c, ca, o),
	}, nil
}

func withDefaults(o Options) Options {
	if o.CertName == "" {
		o.CertName = DefaultCertName
	}
	if o.KeyName == "" {
		o.KeyName = DefaultKeyName
	}
	if o.CADuration == 0 {
		o.CADuration = DefaultCADuration
	}
	if o.LeafDuration == 0 {
		o.LeafDuration = DefaultLeafDuration
	}
	return o
}

func validateSelfManaged(cfg *rest.Config, r client.Reader, c client.Client, o Options) error {
	switch {
	case o.SecretNamespace == "" || o.SecretName == "" || len(o.DNSNames) == 0:
		return errors.New("self-managed webhook certificates need the CA Secret's namespace and name and the Service's DNS names")
	case cfg == nil || r == nil || c == nil:
		return errors.New("self-managed webhook certificates need a REST config, a reader and a client")
	case o.LeafDuration >= o.CADuration:
		// The authority would cut every leaf at the CA's expiry, renewing it too late.
		return fmt.Errorf("the serving certificate's duration (%s) must be shorter than the CA's (%s)", o.LeafDuration, o.CADuration)
	}
	return nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// SelfManaged tells whether the operator makes its own certificates.
func (p *Provider) SelfManaged() bool { return p.injector != nil }

// TLSOpts make the webhook server take its certificate from the provider, TLS 1.2 at least.
func (p *Provider) TLSOpts() []func(*tls.Config) {
	return []func(*tls.Config){func(c *tls.Config) {
		c.GetCertificate = p.source.GetCertificate
		c.MinVersion = tls.VersionTLS12
	}}
}

// Start runs the certificate source and, self-managed, the CA bundle injector until ctx
// ends or the source fails (mounted files unreadable too long, the CA Secret unreachable).
func (p *Provider) Start(ctx context.Context) error {
	// cert-manager's sources log through the logger in ctx; name them as ours.
	ctx = logr.NewContext(ctx, logf.FromContext(ctx).WithName("webhook-certs"))
	if p.injector == nil {
		return p.source.Start(ctx)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	injected := make(chan struct{})
	go func() {
		defer close(injected)
		p.injector.Start(ctx)
	}()
	err := p.source.Start(ctx)
	cancel()
	<-injected
	return err
}

// NeedLeaderElection is false: every replica serves webhooks, so each needs a certificate.
func (p *Provider) NeedLeaderElection() bool { return false }

// AddToManager runs the provider with the manager.
func (p *Provider) AddToManager(mgr manager.Manager) error { return mgr.Add(p) }

// Checker is a readiness check (healthz.Checker) that fails until a serving certificate is
// available, so no webhook request reaches a replica that would fail its handshake.
func (p *Provider) Checker(*http.Request) error {
	// GetCertificate rather than the sources' Healthy: FileCertificateSource reads its
	// certificate unlocked there.
	if c, err := p.source.GetCertificate(nil); err != nil || c == nil {
		return fmt.Errorf("no webhook serving certificate yet: %v", err)
	}
	return nil
}
