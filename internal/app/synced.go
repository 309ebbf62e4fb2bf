package app

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
)

// cachesSynced is a readiness check that fails until the manager's caches have synced. The
// manager starts this runnable with its others, after the caches; without it a replica
// whose informers cannot list (RBAC, a missing API group) would fail only the certificate
// check, which starts at the same point, and send the reader to cert-manager.
type cachesSynced struct{ done atomic.Bool }

func (c *cachesSynced) Start(context.Context) error {
	c.done.Store(true)
	return nil
}

// NeedLeaderElection is false: every replica serves the webhooks.
func (*cachesSynced) NeedLeaderElection() bool { return false }

func (c *cachesSynced) Check(*http.Request) error {
	if !c.done.Load() {
		return errors.New("waiting for the caches to sync; the log names what cannot be listed (RBAC, an API group not served)")
	}
	return nil
}
