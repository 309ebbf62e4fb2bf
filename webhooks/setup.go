package webhooks

import (
	"context"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/oda-canvas/api-operator-istio/internal/namespaces"
	"github.com/oda-canvas/api-operator-istio/internal/routes"
)

// Paths of the webhooks on the webhook server.
const (
	MutatePath   = "/mutate-oda-tmforum-org-v1-exposedapi"
	ValidatePath = "/validate-oda-tmforum-org-v1-exposedapi"
)

// Register serves both webhooks on srv for the namespaces served; reader is the cache
// holding the route indexes, and servedRoutes list the route objects of the route API
// beyond VirtualServices (Validator.Served).
func Register(srv webhook.Server, settings routes.Settings, reader client.Reader, servedRoutes []routes.Served, served namespaces.Selector) {
	srv.Register(MutatePath, &webhook.Admission{Handler: servedOnly{served, Defaulter{}}})
	validator := &Validator{Routes: settings, Reader: reader, Served: servedRoutes}
	srv.Register(ValidatePath, &webhook.Admission{Handler: servedOnly{served, validator}})
}

// servedOnly admits as it is an ExposedAPI of a namespace the operator does not serve: the
// webhook configurations cannot select namespaces by pattern, and another operator's
// ExposedAPIs are not ours to change or judge.
type servedOnly struct {
	served namespaces.Selector
	next   admission.Handler
}

func (s servedOnly) Handle(ctx context.Context, req admission.Request) admission.Response {
	if !s.served.Matches(req.Namespace) {
		return admission.Allowed("namespace " + req.Namespace + " is not served by this operator")
	}
	return s.next.Handle(ctx, req)
}
