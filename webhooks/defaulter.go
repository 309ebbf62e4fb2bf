// Package webhooks holds the ExposedAPI admission webhooks: a defaulter that normalises
// paths and older specification shapes, and a validator that refuses a bad spec with a
// message per field, or a route another ExposedAPI already exposes.
package webhooks

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	admissionv1 "k8s.io/api/admission/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/api/v1/validation"
)

// +kubebuilder:webhook:path=/mutate-oda-tmforum-org-v1-exposedapi,mutating=true,failurePolicy=fail,sideEffects=None,groups=oda.tmforum.org,resources=exposedapis,verbs=create;update,versions=v1,name=mexposedapi.oda.tmforum.org,admissionReviewVersions=v1

// Defaulter normalises an ExposedAPI before it is stored (R2.1). It works on the raw JSON
// object, never on the Go type: the ODA CRD keeps unknown fields, and a round trip through
// a Go type would drop them.
type Defaulter struct{}

// Handle answers one admission request with a JSON patch and warnings.
func (Defaulter) Handle(_ context.Context, req admission.Request) admission.Response {
	if req.Operation != admissionv1.Create && req.Operation != admissionv1.Update {
		return admission.Allowed("")
	}
	if req.Operation == admissionv1.Update && sameSpec(req.OldObject.Raw, asStored(req)) {
		// R2.4: a write of status, labels or finalizers leaves the spec as stored, even one
		// stored before the webhooks existed (and a v1beta4 list sent back whole, which the
		// canvas CRD prunes as it did before): no conversion, no new defaults.
		return admission.Allowed("")
	}
	out, warnings, err := defaulterOf(req)(req.Object.Raw)
	if _, ok := err.(apierrors.APIStatus); ok {
		return denied(err)
	}
	if err != nil {
		return admission.Errored(http.StatusBadRequest, err)
	}
	resp := admission.PatchResponseFromRaw(req.Object.Raw, out)
	resp.Warnings = printables(warnings)
	return resp
}

// defaulterOf is the defaulting of the request's version.
func defaulterOf(req admission.Request) func(raw []byte) ([]byte, []string, error) {
	if v := requestVersion(req); v != odav1.GroupVersion.Version {
		return func(raw []byte) ([]byte, []string, error) { return DefaultOlder(raw, v) }
	}
	return Default
}

// Default returns the object raw normalised as R2.1 says, with a warning for each older
// shape converted; anything it does not normalise is returned as it was.
func Default(raw []byte) ([]byte, []string, error) {
	out, warnings, err := defaultSpec(raw, func(spec map[string]any) []string {
		if s, ok := spec["segment"]; !ok || s == nil || s == "" {
			spec["segment"] = odav1.SegmentCore
		}
		return defaultSpecification(spec)
	})
	if err == nil && runes(warnings) > warningBudget {
		return nil, nil, droppedTooLong(raw, runes(warnings))
	}
	return out, warnings, err
}

// warningBudget is what Default's warnings may take. The API server cuts each warning of a
// response to 256 characters once they pass 4096 in all, and drops those after
// (k8s.io/apiserver/pkg/endpoints/filters/warning.go); the rest is left for the other
// warnings of the response (the validator's, the API server's own).
const warningBudget = 4096 - 1024

func runes(warnings []string) int {
	n := 0
	for _, w := range warnings {
		n += utf8.RuneCountInString(w)
	}
	return n
}

// droppedTooLong refuses a list whose entries after the first, which the v1 object cannot
// keep, are too long to name in warnings the user will see in full: stored, they would be
// lost without a trace (R2.1).
func droppedTooLong(raw []byte, n int) error {
	var obj struct {
		Metadata struct {
			Name string `json:"name"`
		} `json:"metadata"`
	}
	_ = json.Unmarshal(raw, &obj)
	return validation.ToStatusError(obj.Metadata.Name, field.ErrorList{field.Forbidden(field.NewPath("spec", "specification"), fmt.Sprintf(
		"a list (an older shape) becomes the v1 object {url, version} of its first entry, and the entries after it are too long "+
			"to name in a warning (it would take %d characters; the API server cuts a response's warnings past 4096), so they would be lost: "+
			"write the v1 object {url, version} of the one specification this ExposedAPI exposes", n))})
}

// DefaultOlder normalises an object written in an older served version (v1beta3,
// v1beta4; R2.5): the API server stores the result in that version, so the specification
// keeps the list shape the version's schema holds, and no field it lacks is added.
func DefaultOlder(raw []byte, version string) ([]byte, []string, error) {
	return defaultSpec(raw, func(spec map[string]any) []string {
		l, _ := spec["specification"].([]any)
		switch {
		case slices.ContainsFunc(l, isObject):
			// The API server prunes what the storage version's schema lacks: v1 holds one
			// object there, with no fields for the entries of a list.
			return []string{fmt.Sprintf("spec.specification: written as %s, a list of %d; the operator exposes the first entry (the v1 meaning), "+
				"but a CRD that stores v1 (the canvas's does) keeps no url or version of any entry: write the ExposedAPI as v1, with specification {url, version}, to keep them", version, len(l))}
		case len(l) > 1:
			return []string{fmt.Sprintf("spec.specification: written as %s, a list of %d; the operator exposes the first entry (the v1 meaning) and keeps the others as written", version, len(l))}
		}
		return nil
	})
}

func isObject(v any) bool {
	_, ok := v.(map[string]any)
	return ok
}

// defaultSpec applies the rules every version shares, then the version's own.
func defaultSpec(raw []byte, versioned func(spec map[string]any) []string) ([]byte, []string, error) {
	obj, err := decode(raw)
	if err != nil {
		return nil, nil, err
	}
	spec, ok := obj["spec"].(map[string]any)
	if !ok {
		// Nothing to default: the schema and the validating webhook refuse it with the API
		// server's usual 422, naming spec.
		return raw, nil, nil
	}
	for k, normalize := range map[string]func(string) string{"path": validation.NormalizePath, "developerUI": validation.NormalizeDeveloperUI} {
		if p, ok := spec[k].(string); ok && p != "" {
			spec[k] = normalize(p)
		}
	}
	if t, ok := spec["apiType"].(string); ok {
		spec["apiType"] = strings.ToLower(t)
	}
	warnings := versioned(spec)
	out, err := json.Marshal(obj)
	return out, warnings, err
}

func decode(raw []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // numbers come back exactly as they were written
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		return nil, fmt.Errorf("the object is not a JSON object: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("the object is not a JSON object: data after it at offset %d", dec.InputOffset())
	}
	return obj, nil
}

// defaultSpecification turns an older specification shape into the v1 object.
func defaultSpecification(spec map[string]any) []string {
	const fld = "spec.specification"
	switch s := spec["specification"].(type) {
	case string:
		spec["specification"] = map[string]any{"url": s}
		return []string{fld + ": converted from a string (an older shape) to the v1 object {url}"}
	case []any:
		if pruned := withoutEmptyObjects(s); len(pruned) < len(s) {
			return dropPrunedEntries(spec, s, pruned)
		}
		if len(s) == 0 {
			delete(spec, "specification")
			return []string{fld + ": an empty list (an older shape) was removed"}
		}
		first := specificationObject(s[0])
		if first == nil {
			return nil // an entry of no known shape: the validator refuses the list as it is
		}
		spec["specification"] = first
		w := fmt.Sprintf("%s: converted from a list of %d (an older shape) to the v1 object {url, version} of its first entry", fld, len(s))
		if len(s) > 1 {
			w += "; dropped: " + describe(s[1:])
		}
		return []string{w}
	}
	return nil
}

// dropPrunedEntries handles a list holding entries with no fields: on a CRD whose v1 schema
// holds one object here (the canvas's), the API server drops the entries' fields before any
// webhook sees them, so what they held is gone and only the rest can be converted.
func dropPrunedEntries(spec map[string]any, all, kept []any) []string {
	w := fmt.Sprintf("spec.specification: %d of the %d entries of a list (an older shape) reached the webhook with no fields "+
		"(this CRD's v1 schema holds one object {url, version} here, and the API server pruned them)", len(all)-len(kept), len(all))
	spec["specification"] = kept
	if len(kept) == 0 {
		delete(spec, "specification")
		return []string{w + "; write the v1 object {url, version}"}
	}
	return append([]string{w}, defaultSpecification(spec)...)
}

func withoutEmptyObjects(entries []any) []any {
	var out []any
	for _, e := range entries {
		if m, ok := e.(map[string]any); !ok || len(m) > 0 {
			out = append(out, e)
		}
	}
	return out
}

// specificationObject is the v1 object of an older list's entry; nil for an entry of no
// known shape (a number, a boolean, a list).
func specificationObject(v any) map[string]any {
	switch e := v.(type) {
	case string:
		return map[string]any{"url": e}
	case map[string]any:
		return e
	}
	return nil
}

func describe(entries []any) string {
	parts := make([]string, len(entries))
	for i, e := range entries {
		parts[i] = asWritten(e)
	}
	return strings.Join(parts, ", ")
}
