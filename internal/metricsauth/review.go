package metricsauth

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	authzv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/cache"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/apimachinery/pkg/util/wait"
	authnclient "k8s.io/client-go/kubernetes/typed/authentication/v1"
	authzclient "k8s.io/client-go/kubernetes/typed/authorization/v1"
	"k8s.io/client-go/util/retry"
)

// The TTLs and the backoff are those controller-runtime's metrics/filters gives the API
// server's delegating authenticator and authorizer: a scrape every 15 to 60 seconds costs
// the API server a review now and then, not two per scrape.
const (
	tokenTTL      = time.Minute
	allowTTL      = 5 * time.Minute
	denyTTL       = 30 * time.Second
	reviewTimeout = 10 * time.Second
	cacheSize     = 1024
)

var backoff = wait.Backoff{Duration: 500 * time.Millisecond, Factor: 1.5, Jitter: 0.2, Steps: 5}

type reviewer struct {
	tokens authnclient.TokenReviewInterface
	access authzclient.SubjectAccessReviewInterface
	// users maps a token's hash to its *authnv1.UserInfo, nil for a token refused.
	users *cache.LRUExpireCache
	// decisions maps a SubjectAccessReview's spec to whether it was allowed and why.
	decisions *cache.LRUExpireCache
}

type decision struct {
	allowed bool
	reason  string
}

func newReviewer(tokens authnclient.TokenReviewInterface, access authzclient.SubjectAccessReviewInterface) *reviewer {
	return &reviewer{tokens: tokens, access: access,
		users: cache.NewLRUExpireCache(cacheSize), decisions: cache.NewLRUExpireCache(cacheSize)}
}

// authenticate is the user the API server says token is, nil when it refuses the token.
func (r *reviewer) authenticate(ctx context.Context, token string) (*authnv1.UserInfo, error) {
	key := sha256.Sum256([]byte(token))
	if u, ok := r.users.Get(key); ok {
		return u.(*authnv1.UserInfo), nil
	}
	// The request is kept apart from the answer: a failed Create returns an empty object.
	req := &authnv1.TokenReview{Spec: authnv1.TokenReviewSpec{Token: token}}
	var review *authnv1.TokenReview
	err := ask(ctx, func(ctx context.Context) (err error) {
		review, err = r.tokens.Create(ctx, req, metav1.CreateOptions{})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("TokenReview: %w", err)
	}
	var user *authnv1.UserInfo
	if review.Status.Authenticated {
		user = &review.Status.User
	}
	r.users.Add(key, user, tokenTTL)
	return user, nil
}

// authorize asks whether user may use verb on the non-resource path.
func (r *reviewer) authorize(ctx context.Context, user *authnv1.UserInfo, verb, path string) (bool, string, error) {
	spec := accessSpec(user, verb, path)
	key, err := json.Marshal(spec)
	if err != nil {
		return false, "", err
	}
	if d, ok := r.decisions.Get(string(key)); ok {
		return d.(decision).allowed, d.(decision).reason, nil
	}
	req := &authzv1.SubjectAccessReview{Spec: spec}
	var review *authzv1.SubjectAccessReview
	err = ask(ctx, func(ctx context.Context) (err error) {
		review, err = r.access.Create(ctx, req, metav1.CreateOptions{})
		return err
	})
	if err != nil {
		return false, "", fmt.Errorf("SubjectAccessReview: %w", err)
	}
	// As the API server's own webhook authorizer: an evaluation error with no decision is
	// no permission.
	d := decision{allowed: review.Status.Allowed, reason: review.Status.Reason + review.Status.EvaluationError}
	ttl := denyTTL
	if d.allowed {
		ttl = allowTTL
	}
	r.decisions.Add(string(key), d, ttl)
	return d.allowed, d.reason, nil
}

func accessSpec(user *authnv1.UserInfo, verb, path string) authzv1.SubjectAccessReviewSpec {
	extra := make(map[string]authzv1.ExtraValue, len(user.Extra))
	for k, v := range user.Extra {
		extra[k] = authzv1.ExtraValue(v)
	}
	return authzv1.SubjectAccessReviewSpec{User: user.Username, UID: user.UID, Groups: user.Groups, Extra: extra,
		NonResourceAttributes: &authzv1.NonResourceAttributes{Path: path, Verb: verb}}
}

// ask runs a review within the timeout, again after an error the API server may not give
// the next time (it is restarting, overloaded, or the connection broke).
func ask(ctx context.Context, review func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, reviewTimeout)
	defer cancel()
	return retry.OnError(backoff, transient, func() error { return review(ctx) })
}

func transient(err error) bool {
	return apierrors.IsInternalError(err) || apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err) ||
		apierrors.IsServiceUnavailable(err) || apierrors.IsTooManyRequests(err) ||
		utilnet.IsConnectionReset(err) || utilnet.IsConnectionRefused(err) || utilnet.IsProbableEOF(err)
}
