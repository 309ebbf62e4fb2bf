package app

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

func TestRetriesBackOffToAMinute(t *testing.T) {
	l := controllerOptions(&Options{}).RateLimiter
	item := reconcile.Request{}
	item.Name = "shop"
	var last time.Duration
	for range 40 {
		last = l.When(item)
	}
	assert.Equal(t, MaxRetryDelay, last, "a failing item waits at most a minute")
	l.Forget(item)
	assert.Equal(t, 5*time.Millisecond, l.When(item), "and starts afresh once it succeeds")
}
