package webhooks

import (
	"encoding/json"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/api/v1/validation"
)

// olderSpecification checks every entry of a specification list written in v1beta3 or
// v1beta4 (R2.5), each named as the user wrote it: spec.specification[1] for a URL,
// spec.specification[1].url for an object. Read as v1, the list is its first entry alone,
// under a path (spec.specification.url) that those versions do not have.
func olderSpecification(raw []byte, errs field.ErrorList) field.ErrorList {
	_, list, ok := specificationList(raw)
	if !ok {
		return errs
	}
	fld := field.NewPath("spec", "specification")
	errs = slices.DeleteFunc(errs, func(e *field.Error) bool { return strings.HasPrefix(e.Field, fld.String()) })
	for i, entry := range list {
		errs = append(errs, olderEntry(entry, fld.Index(i))...)
	}
	return errs
}

func olderEntry(entry any, fld *field.Path) field.ErrorList {
	switch e := entry.(type) {
	case string:
		return validation.ValidateSpecificationURL(e, fld)
	case map[string]any:
		if len(e) == 0 {
			// What the canvas CRD leaves of an entry once stored (it stores v1, which holds
			// one object here), written back by a client that read it: nothing to fix.
			return nil
		}
		return validation.ValidateSpecificationObject(specificationOf(e), fld)
	}
	return field.ErrorList{field.Invalid(fld, entry, "must be a URL (v1beta3) or an object {url, version} (v1beta4)")}
}

// specificationOf reads an entry as the operator's type does, so that a url or version that
// is not a string is named as such rather than read as missing.
func specificationOf(entry map[string]any) *odav1.Specification {
	s := &odav1.Specification{}
	if b, err := json.Marshal(entry); err == nil {
		_ = s.UnmarshalJSON(b)
	}
	return s
}

// asStored is the request's object as the canvas CRD will store it, for comparing with the
// stored object (R2.4). The CRD stores v1, whose schema holds one object at specification,
// so the API server prunes every field of each object entry of a v1beta3 or v1beta4 list
// (strings are kept), and it does so after the webhooks have seen the list whole. kubectl
// apply sends that list back on every re-apply, url and version included: compared as
// written, a re-apply that changes nothing, or only a label, read as a spec change and the
// stored spec's problems refused it.
func asStored(req admission.Request) []byte {
	raw := req.Object.Raw
	if requestVersion(req) == odav1.GroupVersion.Version {
		return raw
	}
	obj, list, ok := specificationList(raw)
	if !ok {
		return raw
	}
	pruned := make([]any, len(list))
	for i, entry := range list {
		if isObject(entry) {
			entry = map[string]any{}
		}
		pruned[i] = entry
	}
	obj["spec"].(map[string]any)["specification"] = pruned
	out, err := json.Marshal(obj)
	if err != nil {
		return raw
	}
	return out
}

// specificationList is the decoded object and its spec.specification, when that is a list.
func specificationList(raw []byte) (map[string]any, []any, bool) {
	obj, err := decode(raw)
	if err != nil {
		return nil, nil, false
	}
	spec, _ := obj["spec"].(map[string]any)
	list, ok := spec["specification"].([]any)
	return obj, list, ok
}
