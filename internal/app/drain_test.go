package app

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
)

// TestWebhooksCloseConnectionsWhileDraining: a webhook's answer keeps its connection open,
// and closes it once the process drains, so that the API server's next call goes through
// the Service again rather than down a connection the stop would close.
func TestWebhooksCloseConnectionsWhileDraining(t *testing.T) {
	srv := webhook.NewServer(webhook.Options{})
	closingWhileDraining{srv}.Register("/hook", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	answer := func() string {
		rec := httptest.NewRecorder()
		srv.WebhookMux().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/hook", nil))
		return rec.Header().Get("Connection")
	}
	assert.Empty(t, answer())
	draining.Store(true)
	t.Cleanup(func() { draining.Store(false) })
	assert.Equal(t, "close", answer())
}
