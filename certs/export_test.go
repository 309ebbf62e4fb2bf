package certs

import (
	"context"
	"crypto/x509"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
)

// Inject writes the bundle for ca into the webhook configuration cfg named name, reading it
// with r and patching it with c, as the CA injector does.
func Inject(ctx context.Context, r client.Reader, c client.Client, cfg client.Object, name string, ca *x509.Certificate) error {
	return (&caInjector{reader: r, client: c}).inject(ctx, cfg, name, ca)
}

// SetResync sets how often p's injector looks at the configurations unprompted.
func SetResync(p *Provider, d time.Duration) { p.injector.resync = d }

// Run runs p's certificate source and CA injector until the test ends, as AddToManager
// has the manager do.
func Run(t *testing.T, p *Provider) {
	ctx, cancel := context.WithCancel(logf.IntoContext(context.Background(), testr.New(t)))
	var wg sync.WaitGroup
	runnables := []interface{ Start(context.Context) error }{p.source}
	if p.injector != nil {
		runnables = append(runnables, p.injector)
	}
	for _, r := range runnables {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = r.Start(ctx)
		}()
	}
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
}

// WritePair writes a self-signed serving certificate into dir as cert-manager mounts one.
func WritePair(t *testing.T, dir string, serial int64) { writePair(t, dir, serial) }
