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
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
)

func TestMain(m *testing.M) {
	// Shown only when a test fails (or with -v).
	logf.SetLogger(zap.New(zap.UseDevMode(true), zap.WriteTo(os.Stderr)))
	os.Exit(m.Run())
}

// pair is a test CA and a serving certificate it signed, all PEM.
type pair struct {
	ca, cert, key []byte
	serial        int64
}

// newPair makes a CA and a serving certificate for localhost and 127.0.0.1.
func newPair(t *testing.T, serial int64) pair {
	t.Helper()
	caKey := newKey(t)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial * 1000), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	require.NoError(t, err)
	ca, err := x509.ParseCertificate(caDER)
	require.NoError(t, err)

	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	return pair{
		ca:     pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		cert:   pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		key:    pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
		serial: serial,
	}
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	return k
}

// write puts the pair into dir as tls.crt and tls.key, each written beside and renamed so a
// reader never sees half a file.
func (p pair) write(t *testing.T, dir string) {
	t.Helper()
	for name, data := range map[string][]byte{"tls.crt": p.cert, "tls.key": p.key} {
		tmp := filepath.Join(dir, name+".tmp")
		require.NoError(t, os.WriteFile(tmp, data, 0o600))
		require.NoError(t, os.Rename(tmp, filepath.Join(dir, name)))
	}
}

// serve runs a TLS server configured only by the provider's TLSOpts; it returns its address.
func serve(t *testing.T, p *Provider) string {
	t.Helper()
	cfg := &tls.Config{}
	for _, opt := range p.TLSOpts() {
		opt(cfg)
	}
	require.Equal(t, uint16(tls.VersionTLS12), cfg.MinVersion)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	require.NoError(t, err)
	srv := &http.Server{Handler: http.NotFoundHandler(), ReadHeaderTimeout: time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// served is the certificate a client trusting only caPEM sees for serverName, verified.
func served(addr, serverName string, caPEM []byte) (*x509.Certificate, error) {
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		return nil, os.ErrInvalid
	}
	d := &net.Dialer{Timeout: 2 * time.Second}
	conn, err := tls.DialWithDialer(d, "tcp", addr, &tls.Config{RootCAs: roots, ServerName: serverName, MinVersion: tls.VersionTLS12})
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0], nil
}

// run starts the provider and stops it when the test ends, failing the test on its error.
func run(t *testing.T, p *Provider) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		assert.NoError(t, <-done)
	})
}

func TestMountedFilesAreReloadedWithoutRestart(t *testing.T) {
	dir := t.TempDir()
	first, second := newPair(t, 1), newPair(t, 2)
	first.write(t, dir)
	p, err := New(nil, nil, nil, Options{CertDir: dir, FileCheckInterval: 50 * time.Millisecond})
	require.NoError(t, err)
	require.False(t, p.SelfManaged())
	require.False(t, p.NeedLeaderElection(), "every replica serves webhooks")
	require.Error(t, p.Checker(nil), "not ready before the files are read")

	addr := serve(t, p)
	run(t, p)
	require.Eventually(t, func() bool { return p.Checker(nil) == nil }, 10*time.Second, 20*time.Millisecond)
	cert, err := served(addr, "localhost", first.ca)
	require.NoError(t, err)
	assert.Equal(t, first.serial, cert.SerialNumber.Int64())

	second.write(t, dir)
	require.Eventually(t, func() bool {
		cert, err := served(addr, "localhost", second.ca)
		return err == nil && cert.SerialNumber.Int64() == second.serial
	}, 10*time.Second, 50*time.Millisecond, "the new files are served without a restart")
	_, err = served(addr, "localhost", first.ca)
	assert.Error(t, err, "the first CA no longer verifies what is served")
}

func TestModeSelection(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "tls.crt"), []byte("x"), 0o600))
	_, err := New(nil, nil, nil, Options{CertDir: dir})
	require.EqualError(t, err, "self-managed webhook certificates need the CA Secret's namespace and name and the Service's DNS names",
		"a certificate without its key is not the file mode")

	p, err := New(nil, nil, nil, Options{CertDir: dir, CertName: "tls.crt", KeyName: "tls.crt"})
	require.NoError(t, err, "custom file names")
	require.False(t, p.SelfManaged())

	o := Options{SecretNamespace: "ns", SecretName: "ca", DNSNames: []string{"svc.ns.svc"}}
	_, err = New(nil, nil, nil, o)
	require.ErrorContains(t, err, "need a REST config")

	c := fake.NewClientBuilder().Build()
	o.CADuration, o.LeafDuration = time.Hour, time.Hour
	_, err = New(&rest.Config{}, c, c, o)
	require.ErrorContains(t, err, "must be shorter than the CA's")
	o.LeafDuration = time.Minute
	p, err = New(&rest.Config{}, c, c, o)
	require.NoError(t, err)
	require.True(t, p.SelfManaged())
}

func TestBundlePatch(t *testing.T) {
	patch, err := bundlePatch([]webhook{{"a", []byte("ca")}, {"b", nil}}, []byte("ca"))
	require.NoError(t, err)
	assert.JSONEq(t, `[{"op":"test","path":"/webhooks/1/name","value":"b"},
		{"op":"add","path":"/webhooks/1/clientConfig/caBundle","value":"Y2E="}]`, string(patch))

	patch, err = bundlePatch([]webhook{{"a", []byte("ca")}}, []byte("ca"))
	require.NoError(t, err)
	assert.Nil(t, patch, "nothing to write when every entry has the bundle")
}
