package app

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// syncBuffer is written by the server's goroutines and read by the test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// entries are the JSON log entries written so far; a line that is not JSON fails the test.
func (b *syncBuffer) entries() ([]map[string]any, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(b.buf.Bytes()))
	for sc.Scan() {
		var e map[string]any
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return nil, fmt.Errorf("not a structured line: %s: %w", sc.Text(), err)
		}
		out = append(out, e)
	}
	return out, nil
}

func TestRedirectStdLog(t *testing.T) {
	t.Cleanup(func() { log.SetOutput(os.Stderr); log.SetFlags(log.LstdFlags) })
	for _, level := range []struct {
		name      string
		handshake bool // whether the handshake error is logged
	}{{"debug", true}, {"info", false}} {
		t.Run(level.name, func(t *testing.T) {
			out := &syncBuffer{}
			logger, err := NewLoggerTo(&Options{LogLevel: level.name}, out)
			require.NoError(t, err)
			RedirectStdLog(logger)

			before := testutil.ToFloat64(tlsHandshakeErrors)
			// A server with no ErrorLog, as controller-runtime's are, and a client that
			// refuses its certificate.
			srv := httptest.NewTLSServer(http.NotFoundHandler())
			_, err = tls.Dial("tcp", srv.Listener.Addr().String(), &tls.Config{MinVersion: tls.VersionTLS12})
			require.Error(t, err, "the test server's certificate is not trusted")
			log.Print("http: Accept error: something broke\n") // what net/http logs otherwise

			want := []string{"http: Accept error: something broke"}
			if level.handshake {
				want = append(want, tlsHandshakeErrorPrefix)
			}
			require.Eventually(t, func() bool { return testutil.ToFloat64(tlsHandshakeErrors) == before+1 }, 5*time.Second, 10*time.Millisecond,
				"each failed handshake counted")
			// The condition runs on its own goroutine: it collects, and the test fails here.
			require.EventuallyWithT(t, func(c *assert.CollectT) {
				entries, err := out.entries()
				if assert.NoError(c, err) {
					assert.Len(c, entries, len(want))
				}
			}, 5*time.Second, 10*time.Millisecond)
			srv.Close()
			entries, err := out.entries()
			require.NoError(t, err)
			for _, e := range entries {
				assert.Equal(t, "stdlib", e["logger"])
				msg, _ := e["msg"].(string)
				if strings.HasPrefix(msg, tlsHandshakeErrorPrefix) {
					assert.Equal(t, "debug", e["level"], msg)
					assert.Contains(t, msg, "bad certificate")
				} else {
					assert.Equal(t, "error", e["level"], msg)
					assert.Equal(t, want[0], msg)
				}
			}
		})
	}
}
