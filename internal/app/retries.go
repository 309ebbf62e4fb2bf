package app

import (
	"time"

	"golang.org/x/time/rate"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// MaxRetryDelay caps a failing item's backoff. client-go's default cap, 1000 s, would leave
// an API up to 17 minutes behind a cause that has cleared (istiod back, a webhook fixed)
// with nothing else to wake it.
const MaxRetryDelay = time.Minute

// retryLimiter is client-go's default controller rate limiter with MaxRetryDelay as its
// cap: per item from 5 ms, doubling, and a token bucket over all items (10/s, burst 100)
// that still bounds the retries of many.
func retryLimiter() workqueue.TypedRateLimiter[reconcile.Request] {
	return workqueue.NewTypedMaxOfRateLimiter(
		workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](5*time.Millisecond, MaxRetryDelay),
		&workqueue.TypedBucketRateLimiter[reconcile.Request]{Limiter: rate.NewLimiter(rate.Limit(10), 100)})
}
