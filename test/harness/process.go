package harness

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// Kubeconfig writes a kubeconfig for a new user of the control plane with these groups
// ("system:masters" for an admin) and returns its path.
func (e *Env) Kubeconfig(t testing.TB, user string, groups ...string) string {
	t.Helper()
	u, err := e.AddUser(envtest.User{Name: user, Groups: groups})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := u.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	return writeKubeconfig(t, user, raw)
}

// KubeconfigAs writes a kubeconfig that acts as the ServiceAccount namespace/name, through
// impersonation by an admin, so that only the RBAC bound to that account applies.
func (e *Env) KubeconfigAs(t testing.TB, namespace, name string) string {
	t.Helper()
	raw, err := os.ReadFile(e.Kubeconfig(t, "impersonator", "system:masters"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.Load(raw)
	if err != nil {
		t.Fatal(err)
	}
	for _, auth := range cfg.AuthInfos {
		auth.Impersonate = "system:serviceaccount:" + namespace + ":" + name
		auth.ImpersonateGroups = []string{"system:serviceaccounts", "system:serviceaccounts:" + namespace, "system:authenticated"}
	}
	out, err := clientcmd.Write(*cfg)
	if err != nil {
		t.Fatal(err)
	}
	return writeKubeconfig(t, namespace+"-"+name, out)
}

// Token is a fresh token of the ServiceAccount namespace/name, from the API server's
// TokenRequest, as a pod or a token Secret would hold.
func (e *Env) Token(t testing.TB, namespace, name string) string {
	t.Helper()
	cs, err := kubernetes.NewForConfig(e.Config)
	if err != nil {
		t.Fatal(err)
	}
	req := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](600)}}
	got, err := cs.CoreV1().ServiceAccounts(namespace).CreateToken(context.Background(), name, req, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return got.Status.Token
}

// Scrape GETs url with c, sending bearer as the token when not empty, and returns the
// response (its body read and closed) and the body.
func Scrape(t testing.TB, c *http.Client, url, bearer string) (*http.Response, string) {
	t.Helper()
	resp, body, err := TryScrape(c, url, bearer)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// TryScrape is Scrape returning its error, for a condition polled on another goroutine
// (where t.Fatal would stop that goroutine instead of the test).
func TryScrape(c *http.Client, url, bearer string) (*http.Response, string, error) {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	if err != nil {
		return nil, "", err
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, "", err
	}
	return resp, string(body), nil
}

// handedOut are the ports FreePort returned: the kernel may give a closed port out again
// at once, and two of a test's flags given the same port fail its bind.
var handedOut = struct {
	sync.Mutex
	ports map[int]bool
}{ports: map[int]bool{}}

// FreePort is a TCP port on loopback that nothing listens on now and that this process
// has not been given before (NewPort).
func FreePort(t testing.TB) int {
	t.Helper()
	port, err := NewPort()
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// NewPort is FreePort for code without a testing.TB, such as the bench.
func NewPort() (int, error) {
	handedOut.Lock()
	defer handedOut.Unlock()
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if !handedOut.ports[port] {
			handedOut.ports[port] = true
			return port, nil
		}
	}
	return 0, errors.New("no loopback port that was not handed out before in 100 tries")
}

func writeKubeconfig(t testing.TB, name string, raw []byte) string {
	path := filepath.Join(t.TempDir(), name+".kubeconfig")
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// BuildOperator builds the operator's binary as the Dockerfile does (the same flags, so
// the build cache serves both) and returns its path.
func BuildOperator(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "api-operator-istio")
	build := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "./cmd/api-operator-istio")
	build.Dir = RepoRoot(t)
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the operator: %v\n%s", err, out)
	}
	return bin
}

// LogWriter writes a process's output into the test's log; it keeps quiet once the test
// has ended, when the process may still be writing as it stops.
func LogWriter(t testing.TB) *TestLog { return &TestLog{t} }

// TestLog is an io.Writer into a test's log.
type TestLog struct{ t testing.TB }

func (l *TestLog) Write(p []byte) (int, error) {
	defer func() { _ = recover() }()
	l.t.Log(string(p))
	return len(p), nil
}

// LockedBuffer is a bytes.Buffer that a process's output copier and the test may use at once.
type LockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *LockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *LockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
