package exposedapi

import (
	"k8s.io/apimachinery/pkg/api/meta"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
)

// Condition types of an ExposedAPI.
const (
	// ConditionAccepted: the spec is valid and the route it asks for is free.
	ConditionAccepted = "Accepted"
	// ConditionProgrammed: the VirtualService routes the API on the gateway.
	ConditionProgrammed = "Programmed"
	// ConditionReady: programmed, reachable at a known URL, and the implementation is ready.
	ConditionReady = "Ready"
)

// Reasons a person can act on.
const (
	ReasonValid         = "Valid"
	ReasonInvalidSpec   = "InvalidSpec"
	ReasonRouteConflict = "RouteConflict"
	ReasonProgrammed    = "VirtualServiceProgrammed"
	ReasonNotAccepted   = "NotAccepted"
	// ReasonMeshRoutePending: the mesh VirtualService of the API's Service (another internal
	// API's) does not route it yet.
	ReasonMeshRoutePending       = "MeshRoutePending"
	ReasonVirtualServiceNotOwned = "VirtualServiceNotOwned"
	ReasonReady                  = "Ready"
	ReasonNotProgrammed          = "NotProgrammed"
	ReasonNoIngressAddress       = "NoIngressAddress"
	ReasonImplementationNotReady = "ImplementationNotReady"
	// ReasonDeleting: the API is being deleted and its route is withdrawn, while another
	// controller's finalizer keeps the API.
	ReasonDeleting = "Deleting"
)

// Settled tells whether this operator has reconciled api at its current generation and
// written what it found: its Ready condition was observed at that generation.
func Settled(api *odav1.ExposedAPI) bool {
	c := meta.FindStatusCondition(api.Status.Conditions, ConditionReady)
	return c != nil && c.ObservedGeneration == api.Generation
}
