package webhooks

import (
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/oda-canvas/api-operator-istio/internal/routes"
)

// Paths of the webhooks on the webhook server.
const (
	MutatePath   = "/mutate-oda-tmforum-org-v1-exposedapi"
	ValidatePath = "/validate-oda-tmforum-org-v1-exposedapi"
)

// Register serves both webhooks on srv; reader is the cache holding the route index.
func Register(srv webhook.Server, settings routes.Settings, reader client.Reader) {
	srv.Register(MutatePath, &webhook.Admission{Handler: Defaulter{}})
	srv.Register(ValidatePath, &webhook.Admission{Handler: &Validator{Routes: settings, Reader: reader}})
}
