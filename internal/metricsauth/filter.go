// Package metricsauth guards the metrics endpoint: a caller must bring a bearer token the
// API server authenticates (TokenReview) and be authorized for the request's verb on its
// path (SubjectAccessReview), as controller-runtime's metrics/filters does. It is written
// on client-go's typed clients because that package links k8s.io/apiserver, which nearly
// doubles the binary and its resident memory for a flag that is off by default.
package metricsauth

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/go-logr/logr"
	authnclient "k8s.io/client-go/kubernetes/typed/authentication/v1"
	authzclient "k8s.io/client-go/kubernetes/typed/authorization/v1"
	"k8s.io/client-go/rest"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

// +kubebuilder:rbac:groups=authentication.k8s.io,resources=tokenreviews,verbs=create
// +kubebuilder:rbac:groups=authorization.k8s.io,resources=subjectaccessreviews,verbs=create

// Filter is a metricsserver.FilterProvider: 401 without a token the API server accepts,
// 403 when its user may not use the request's verb on its path, 500 when the API server
// cannot be asked.
func Filter(cfg *rest.Config, hc *http.Client) (metricsserver.Filter, error) {
	tokens, err := authnclient.NewForConfigAndClient(cfg, hc)
	if err != nil {
		return nil, fmt.Errorf("the TokenReview client: %w", err)
	}
	access, err := authzclient.NewForConfigAndClient(cfg, hc)
	if err != nil {
		return nil, fmt.Errorf("the SubjectAccessReview client: %w", err)
	}
	r := newReviewer(tokens.TokenReviews(), access.SubjectAccessReviews())
	return func(log logr.Logger, next http.Handler) (http.Handler, error) {
		return &guard{reviewer: r, log: log, next: next}, nil
	}, nil
}

type guard struct {
	*reviewer
	log  logr.Logger
	next http.Handler
}

func (g *guard) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	token, ok := bearer(req)
	if !ok {
		http.Error(w, "Unauthorized", http.StatusUnauthorized)
		return
	}
	user, err := g.authenticate(req.Context(), token)
	if err != nil {
		g.log.Error(err, "Authentication failed")
		http.Error(w, "Authentication failed", http.StatusInternalServerError)
		return
	}
	if user == nil {
		http.Error(w, "Unauthorized", http.StatusUnauthorized)
		return
	}
	allowed, reason, err := g.authorize(req.Context(), user, strings.ToLower(req.Method), req.URL.Path)
	if err != nil {
		msg := fmt.Sprintf("Authorization for user %s failed", user.Username)
		g.log.Error(err, msg)
		http.Error(w, msg, http.StatusInternalServerError)
		return
	}
	if !allowed {
		msg := fmt.Sprintf("Authorization denied for user %s", user.Username)
		g.log.V(4).Info(msg, "reason", reason)
		http.Error(w, msg, http.StatusForbidden)
		return
	}
	g.next.ServeHTTP(w, req)
}

// bearer is the token of an "Authorization: Bearer <token>" header, read as the API
// server's own bearer token authenticator reads it.
func bearer(req *http.Request) (string, bool) {
	parts := strings.SplitN(strings.TrimSpace(req.Header.Get("Authorization")), " ", 3)
	if len(parts) < 2 || !strings.EqualFold(parts[0], "bearer") || parts[1] == "" {
		return "", false
	}
	return parts[1], true
}
