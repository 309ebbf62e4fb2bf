package certs

import (
	"context"
	"crypto/x509"

	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Inject writes the bundle for ca into the webhook configuration cfg named name, reading it
// with r and patching it with c, as the CA injector does.
func Inject(ctx context.Context, r client.Reader, c client.Client, cfg client.Object, name string, ca *x509.Certificate) error {
	return (&caInjector{reader: r, client: c}).inject(ctx, cfg, name, ca)
}
