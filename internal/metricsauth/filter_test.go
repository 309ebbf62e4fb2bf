package metricsauth_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/go-logr/logr/testr"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/oda-canvas/api-operator-istio/internal/metricsauth"
	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// reviews counts the TokenReviews and SubjectAccessReviews sent, and can refuse the next
// connections as a restarting API server does.
type reviews struct {
	mu             sync.Mutex
	tokens, access int
	refuse         int
	next           http.RoundTripper
}

func (r *reviews) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	switch {
	case strings.HasSuffix(req.URL.Path, "/tokenreviews"):
		r.tokens++
	case strings.HasSuffix(req.URL.Path, "/subjectaccessreviews"):
		r.access++
	}
	refuse := r.refuse > 0
	if refuse {
		r.refuse--
	}
	r.mu.Unlock()
	if refuse {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	}
	return r.next.RoundTrip(req)
}

func (r *reviews) counts() (int, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.tokens, r.access
}

// guarded serves "metrics" behind the filter, its reviews asked as cfg's user and sent
// through the returned counter.
func guarded(t *testing.T, cfg *rest.Config) (*httptest.Server, *reviews) {
	hc, err := rest.HTTPClientFor(cfg)
	require.NoError(t, err)
	counter := &reviews{next: hc.Transport}
	hc.Transport = counter
	filter, err := metricsauth.Filter(cfg, hc)
	require.NoError(t, err)
	h, err := filter(testr.New(t), http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("metrics"))
	}))
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, counter
}

// account is the token of a ServiceAccount, granted get on /metrics when reader is set.
func account(t *testing.T, env *harness.Env, name string, reader bool) string {
	env.ServiceAccount(t, name, reader)
	return env.Token(t, "default", name)
}

func call(t *testing.T, method, url, authorization string) (int, string) {
	req, err := http.NewRequestWithContext(context.Background(), method, url, nil)
	require.NoError(t, err)
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

// TestFilter: the answers controller-runtime's metrics/filters gives, decided by a real
// API server, with a review asked once per token and decision while it is cached.
func TestFilter(t *testing.T) {
	env := harness.Start(t, harness.Generated)
	srv, counter := guarded(t, env.Config)
	reader, stranger := account(t, env, "reader", true), account(t, env, "stranger", false)
	url := srv.URL + "/metrics"

	for name, header := range map[string]string{"no header": "", "not bearer": "Basic " + reader,
		"empty token": "Bearer ", "token the API server refuses": "Bearer not-a-token"} {
		code, _ := call(t, http.MethodGet, url, header)
		assert.Equal(t, http.StatusUnauthorized, code, name)
	}
	code, body := call(t, http.MethodGet, url, "Bearer "+stranger)
	assert.Equal(t, http.StatusForbidden, code)
	assert.Contains(t, body, "Authorization denied for user system:serviceaccount:default:stranger")
	code, _ = call(t, http.MethodPost, url, "Bearer "+reader)
	assert.Equal(t, http.StatusForbidden, code, "the reader is granted get, not post")
	code, _ = call(t, http.MethodGet, srv.URL+"/other", "bearer "+reader)
	assert.Equal(t, http.StatusForbidden, code, "the reader is granted /metrics only")

	tokens, access := counter.counts()
	code, body = call(t, http.MethodGet, url, "bearer "+reader)
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "metrics", body)
	assert.Equal(t, [2]int{tokens, access + 1}, pair(counter.counts()), "the reader's token is known; its get on /metrics is asked")
	code, _ = call(t, http.MethodGet, url, "Bearer "+reader)
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, [2]int{tokens, access + 1}, pair(counter.counts()), "a second scrape asks nothing")
}

// TestFilterAsksAgainAfterAConnectionIsRefused: an API server that restarts costs a scrape
// a retry, not a 500; one that stays away, a 500.
func TestFilterAsksAgainAfterAConnectionIsRefused(t *testing.T) {
	env := harness.Start(t, harness.Generated)
	srv, counter := guarded(t, env.Config)
	reader := account(t, env, "reader", true)

	counter.mu.Lock()
	counter.refuse = 2
	counter.mu.Unlock()
	code, _ := call(t, http.MethodGet, srv.URL+"/metrics", "Bearer "+reader)
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, [2]int{3, 1}, pair(counter.counts()), "two refused TokenReviews, then one review of each kind")

	counter.mu.Lock()
	counter.refuse = 100
	counter.mu.Unlock()
	code, body := call(t, http.MethodGet, srv.URL+"/metrics", "Bearer "+account(t, env, "another", true))
	assert.Equal(t, http.StatusInternalServerError, code)
	assert.Equal(t, "Authentication failed\n", body)
}

// TestFilterWithoutReviewRights: an operator not granted create on TokenReviews answers
// 500 (the README's troubleshooting names it), never lets the scrape through, and asks
// once: a refusal is not worth a retry.
func TestFilterWithoutReviewRights(t *testing.T) {
	env := harness.Start(t, harness.Generated)
	user, err := env.AddUser(envtest.User{Name: "no-rights"})
	require.NoError(t, err)
	srv, counter := guarded(t, user.Config())
	code, body := call(t, http.MethodGet, srv.URL+"/metrics", "Bearer "+account(t, env, "reader", true))
	assert.Equal(t, http.StatusInternalServerError, code)
	assert.Equal(t, "Authentication failed\n", body)
	assert.Equal(t, [2]int{1, 0}, pair(counter.counts()))
}

func pair(a, b int) [2]int { return [2]int{a, b} }
