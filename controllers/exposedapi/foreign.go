package exposedapi

import (
	"fmt"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
)

// notControlled is what every condition says of a child that another owner holds under the
// API's name. Such a child is in no cache (the caches hold labelled children only, or map
// events by owner), so its removal wakes nothing: an API it holds up is tried again every
// RefusedRetry, and looks the child up on the API server before writing, so that the
// retry is a read.
const notControlled = "exists and is not controlled by this ExposedAPI"

// NotControlled is the condition message for api's child of kind held by another owner.
func NotControlled(kind string, api *odav1.ExposedAPI) string {
	return InTheWay(kind, api.Namespace, api.Name)
}

// InTheWay is the condition message for an object of another owner where the API's own
// should be: heldUp knows it, so the API is tried again until that object goes.
func InTheWay(kind, namespace, name string) string {
	return fmt.Sprintf("%s %s/%s %s; delete or rename it", kind, namespace, name, notControlled)
}

// WasNotControlled tells whether api's stored status says its child of kind was held by
// another owner when last reconciled.
func WasNotControlled(api *odav1.ExposedAPI, kind string) bool {
	said := fmt.Sprintf("%s %s/%s %s", kind, api.Namespace, api.Name, notControlled)
	return slices.ContainsFunc(api.Status.Conditions, func(c metav1.Condition) bool {
		return c.Status == metav1.ConditionFalse && strings.Contains(c.Message, said)
	})
}

// heldUp tells whether a child of another owner holds the API up.
func (obs *observed) heldUp() bool {
	return slices.ContainsFunc(append([]metav1.Condition{obs.route.Programmed}, obs.extConds...), func(c metav1.Condition) bool {
		return c.Status == metav1.ConditionFalse && strings.Contains(c.Message, notControlled)
	})
}
