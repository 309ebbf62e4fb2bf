package certs

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// writePair writes a self-signed serving certificate for 127.0.0.1 with the given serial.
func writePair(t *testing.T, dir string, serial int64) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "test"},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	kder, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	// Write beside, then rename: a reader never sees half a file.
	for name, block := range map[string]*pem.Block{"tls.crt": {Type: "CERTIFICATE", Bytes: der}, "tls.key": {Type: "EC PRIVATE KEY", Bytes: kder}} {
		tmp := filepath.Join(dir, name+".tmp")
		require.NoError(t, os.WriteFile(tmp, pem.EncodeToMemory(block), 0o600))
		require.NoError(t, os.Rename(tmp, filepath.Join(dir, name)))
	}
}

func servedSerial(url string) (int64, error) {
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // reads the served certificate only
	resp, err := c.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	return resp.TLS.PeerCertificates[0].SerialNumber.Int64(), nil
}

func TestMountedFilesAreReloaded(t *testing.T) {
	dir := t.TempDir()
	writePair(t, dir, 1)
	p, err := New(nil, nil, nil, Options{CertDir: dir, FileCheckInterval: 50 * time.Millisecond})
	require.NoError(t, err)
	require.False(t, p.SelfManaged())
	require.Error(t, p.Checker(nil), "not ready before the source has read the files")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = p.source.Start(ctx) }()
	require.Eventually(t, func() bool { return p.Checker(nil) == nil }, 10*time.Second, 20*time.Millisecond)

	cfg := &tls.Config{}
	for _, opt := range p.TLSOpts() {
		opt(cfg)
	}
	assert.Equal(t, uint16(tls.VersionTLS12), cfg.MinVersion)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	require.NoError(t, err)
	srv := &http.Server{Handler: http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), ReadHeaderTimeout: time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	url := "https://" + ln.Addr().String()
	serial, err := servedSerial(url)
	require.NoError(t, err)
	assert.Equal(t, int64(1), serial)

	writePair(t, dir, 2)
	// The condition runs on its own goroutine: it collects, and the test fails here.
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		serial, err := servedSerial(url)
		if assert.NoError(c, err) {
			assert.Equal(c, int64(2), serial)
		}
	}, 10*time.Second, 50*time.Millisecond, "the new files are served without a restart")
}

func TestSelfManagedNeedsItsNames(t *testing.T) {
	_, err := New(nil, nil, nil, Options{CertDir: t.TempDir()})
	require.EqualError(t, err, "self-managed webhook certificates need the CA Secret's namespace and name and the Service's DNS names")
}
