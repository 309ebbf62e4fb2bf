package webhooks

import (
	"reflect"

	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
)

// requestVersion is the version the client wrote in. The API server hands the webhooks a
// v1 object (matchPolicy Equivalent) and stores the answer in the request's own version.
func requestVersion(req admission.Request) string {
	if req.RequestKind != nil && req.RequestKind.Version != "" {
		return req.RequestKind.Version
	}
	return odav1.GroupVersion.Version
}

// sameSpec reports whether two raw objects hold the same spec, compared as JSON values
// (numbers exactly as written, unknown fields included).
func sameSpec(oldRaw, newRaw []byte) bool {
	o, errO := decode(oldRaw)
	n, errN := decode(newRaw)
	return errO == nil && errN == nil && reflect.DeepEqual(o["spec"], n["spec"])
}
