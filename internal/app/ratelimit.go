package app

import (
	"math"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/flowcontrol"
)

// RateLimit is the rest.Config QPS and Burst for the settings. No limit is QPS -1, as
// controller-runtime's config getter sets it (kubernetes-sigs/controller-runtime#3119):
// client-go reads 0 as its default of 5 per second, not as none.
func (o *Options) RateLimit() (qps float32, burst int) {
	if o.KubeAPIQPS <= 0 {
		return -1, 0
	}
	if burst = o.KubeAPIBurst; burst == 0 {
		burst = int(math.Ceil(2 * o.KubeAPIQPS))
	}
	return float32(o.KubeAPIQPS), burst
}

// clientConfig is cfg with the settings' client-side limit as one token bucket that every
// client built on it shares. Without it client-go gives each REST client its own bucket,
// and controller-runtime's client makes one REST client per resource type: QPS 50 let
// the operator write 50 VirtualServices and 50 statuses a second.
func (o *Options) clientConfig(cfg *rest.Config) *rest.Config {
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = o.RateLimit()
	return withOwnBucket(cfg)
}

// leaderElectionConfig is, under a client-side limit, cfg with a bucket of its own, so
// that a lease renewal never waits behind the reconcilers' writes for a token and the
// leader keeps its lease under a tight limit. Without a limit it is nil: the manager's
// own config serves.
func (o *Options) leaderElectionConfig(cfg *rest.Config) *rest.Config {
	if !o.LeaderElect || cfg.RateLimiter == nil {
		return nil
	}
	return withOwnBucket(rest.CopyConfig(cfg))
}

// withOwnBucket gives cfg, a copy, a new token bucket of its QPS and Burst, or none.
func withOwnBucket(cfg *rest.Config) *rest.Config {
	cfg.RateLimiter = nil
	if cfg.QPS > 0 {
		cfg.RateLimiter = flowcontrol.NewTokenBucketRateLimiter(cfg.QPS, cfg.Burst)
	}
	return cfg
}
