package app

import (
	"bytes"
	"log"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// tlsHandshakeErrors counts what the servers' TLS handshake errors would have logged.
var tlsHandshakeErrors = prometheus.NewCounter(prometheus.CounterOpts{
	Name: "api_operator_istio_tls_handshake_errors_total",
	Help: "TLS handshakes that failed on the webhook and metrics servers (logged at debug level).",
})

func init() { metrics.Registry.MustRegister(tlsHandshakeErrors) }

// tlsHandshakeErrorPrefix starts what net/http logs for each failed handshake.
const tlsHandshakeErrorPrefix = "http: TLS handshake error"

// RedirectStdLog sends what is written to Go's standard logger to to, one entry per line,
// so that every line of the operator is structured (R6.3). The webhook, metrics and probe
// servers of controller-runtime log their errors there (net/http's ErrorLog). A failed TLS
// handshake is counted and logged at debug level only, as kube-apiserver does: load
// balancer health checks and port scans would flood the log at error level, and the count
// shows a certificate problem without them.
func RedirectStdLog(to logr.Logger) {
	log.SetFlags(0)
	log.SetPrefix("")
	log.SetOutput(stdLogWriter{log: to.WithName("stdlib")})
}

type stdLogWriter struct{ log logr.Logger }

func (w stdLogWriter) Write(p []byte) (int, error) {
	for line := range bytes.Lines(p) {
		msg := string(bytes.TrimRight(line, "\r\n"))
		switch {
		case msg == "":
		case bytes.HasPrefix(line, []byte(tlsHandshakeErrorPrefix)):
			tlsHandshakeErrors.Inc()
			w.log.V(1).Info(msg)
		default:
			w.log.Error(nil, msg)
		}
	}
	return len(p), nil
}
