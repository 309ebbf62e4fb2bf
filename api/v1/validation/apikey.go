package validation

import (
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
)

// validateAPIKey accepts the places the gateway can take a token from: a header, or a
// query parameter written ?name.
func validateAPIKey(k *odav1.APIKeyVerification, fld *field.Path) field.ErrorList {
	if k == nil || k.Location == "" {
		return nil
	}
	name, param := strings.CutPrefix(k.Location, "?")
	if isToken(name) && (!param || !strings.ContainsAny(name, "&=#+%")) {
		return nil
	}
	return field.ErrorList{field.Invalid(fld.Child("location"), k.Location,
		"must be an HTTP header name like X-API-Key, or ? and a query parameter name like ?apikey; empty means the Authorization bearer token")}
}
