// Package routes decides which ExposedAPI owns a gateway route when several ask for the
// same one. The webhook and the controller both use it, so that admission and reconciliation
// agree on the winner.
package routes

import (
	"strings"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/api/v1/validation"
)

// IndexKey is the cache index of ExposedAPIs by the route key their spec asks for; only a
// valid spec, one that can route, is indexed.
const IndexKey = "oda.route"

// Settings are the operator-wide facts a route depends on.
type Settings struct {
	Gateway        string
	PublicHostname string
}

// Host is the host a VirtualService for spec matches: the operator's public host name, else
// the API's own, else any host.
func (s Settings) Host(spec *odav1.ExposedAPISpec) string {
	if s.PublicHostname != "" {
		return s.PublicHostname
	}
	if h := validation.NormalizeHostname(spec.Hostname); h != "" {
		return h
	}
	return "*"
}

// Key identifies the gateway + host + path prefix that an API's route claims.
func (s Settings) Key(spec *odav1.ExposedAPISpec) string {
	return key(s.Gateway, s.Host(spec), spec.Path)
}

func key(gateway, host, path string) string {
	return gateway + "|" + strings.ToLower(host) + "|" + path
}

// Less orders claimants: the oldest wins, then namespace/name breaks ties, so every
// reconcile, whatever its order, picks the same winner.
func Less(a, b *odav1.ExposedAPI) bool {
	ta, tb := a.CreationTimestamp.Time, b.CreationTimestamp.Time
	if !ta.Equal(tb) {
		return ta.Before(tb)
	}
	if a.Namespace != b.Namespace {
		return a.Namespace < b.Namespace
	}
	return a.Name < b.Name
}

// Winner is the claimant that owns the route among apis; objects being deleted do not
// count. It returns nil when there is none.
func Winner(apis []odav1.ExposedAPI) *odav1.ExposedAPI {
	var best *odav1.ExposedAPI
	for i := range apis {
		a := &apis[i]
		if a.DeletionTimestamp != nil {
			continue
		}
		if best == nil || Less(a, best) {
			best = a
		}
	}
	return best
}
