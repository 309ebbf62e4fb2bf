package app

import (
	"context"
	"net/http"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
)

// draining is set from SIGTERM until the process stops: there is one signal handler per
// process.
var draining atomic.Bool

// SignalContext is done when the process is to stop: at once on SIGINT, and delay after
// SIGTERM, which is how a rolling update or a drained node stops a pod. Meanwhile the
// webhooks keep answering: the Service withdraws the pod's endpoint from every node only
// some time after the signal, and a call that reached a closed port would refuse the write
// it admits (failurePolicy Fail). A second signal stops the process at once.
func SignalContext(log logr.Logger, delay time.Duration) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, os.Interrupt)
	go func() {
		if <-sigs == syscall.SIGTERM && delay > 0 {
			draining.Store(true)
			log.Info("stopping: the webhooks keep serving while this replica's endpoint is withdrawn", "delay", delay)
			select {
			case <-time.After(delay):
			case <-sigs:
				os.Exit(1)
			}
		}
		cancel()
		<-sigs
		os.Exit(1)
	}()
	return ctx
}

// closingWhileDraining registers the webhooks of a server so that, while the process
// drains, each answer closes its connection: the API server's next call opens a new one,
// which the Service sends to another replica once this one's endpoint is withdrawn,
// instead of reusing one that the server's stop would close under a call.
type closingWhileDraining struct{ webhook.Server }

func (s closingWhileDraining) Register(path string, hook http.Handler) {
	s.Server.Register(path, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if draining.Load() {
			w.Header().Set("Connection", "close")
		}
		hook.ServeHTTP(w, r)
	}))
}
