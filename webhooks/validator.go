package webhooks

import (
	"context"
	"fmt"
	"net/http"
	"slices"

	admissionv1 "k8s.io/api/admission/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/api/v1/validation"
	"github.com/oda-canvas/api-operator-istio/internal/routes"
)

// +kubebuilder:webhook:path=/validate-oda-tmforum-org-v1-exposedapi,mutating=false,failurePolicy=fail,sideEffects=None,groups=oda.tmforum.org,resources=exposedapis,verbs=create;update,versions=v1,name=vexposedapi.oda.tmforum.org,admissionReviewVersions=v1

// Validator refuses an ExposedAPI whose spec is invalid (R2.2) or whose route another
// ExposedAPI already exposes (R2.3), with the standard Invalid status: kubectl prints each
// field path and what is wrong with it.
type Validator struct {
	// Routes are the operator's gateway, public host name and internal segments.
	Routes routes.Settings
	// Reader finds other claimants of a route through the cache indexes routes.IndexKey and
	// routes.ServedIndexKey (routes.Claimants); nil skips the conflict check.
	Reader client.Reader
	// Served lists the routes of another route API (--route-api) by the route they serve, as
	// the controller counts them: an API whose spec became invalid keeps its route.
	Served []routes.Served
}

// Handle answers one admission request.
func (v *Validator) Handle(ctx context.Context, req admission.Request) admission.Response {
	if req.Operation != admissionv1.Create && req.Operation != admissionv1.Update {
		return admission.Allowed("")
	}
	api := &odav1.ExposedAPI{}
	if err := decodeAPI(req.Object.Raw, api); err != nil {
		return admission.Errored(http.StatusBadRequest, fmt.Errorf("decoding the ExposedAPI: %w", err))
	}
	errs := append(validation.ValidateExposedAPI(api), v.routeErrors(api)...)
	// Admission only: the controller reports it on the Scraping condition, and routes the API.
	errs = append(errs, validation.ValidateBasicAuth(&api.Spec, field.NewPath("spec", "basicAuth"))...)
	if requestVersion(req) != odav1.GroupVersion.Version {
		errs = olderSpecification(req.Object.Raw, errs)
	}
	var old *odav1.ExposedAPI
	if req.Operation == admissionv1.Update {
		old = &odav1.ExposedAPI{}
		if err := decodeAPI(req.OldObject.Raw, old); err != nil {
			return admission.Errored(http.StatusBadRequest, fmt.Errorf("decoding the stored ExposedAPI: %w", err))
		}
		// A valid update is admitted either way: only a refused one is worth defaulting the
		// stored spec for.
		if sameSpec(req.OldObject.Raw, asStored(req)) || len(errs) > 0 && unchangedByDefaulting(req) {
			return specUnchanged(api, old, errs)
		}
	}
	if len(errs) == 0 && v.Reader != nil {
		conflict, err := v.conflict(ctx, api, old)
		if err != nil {
			return admission.Errored(http.StatusInternalServerError, err)
		}
		if conflict != nil {
			errs = append(errs, conflict)
		}
	}
	if len(errs) > 0 {
		return denied(validation.ToStatusError(api.Name, errs))
	}
	if requestVersion(req) != odav1.GroupVersion.Version {
		return admission.Allowed("") // the list is that version's own shape
	}
	return admission.Allowed("").WithWarnings(legacyWarnings(api)...)
}

// unchangedByDefaulting tells whether the update's spec, defaulted, is the stored spec
// defaulted (R2.4): a client writing back the defaulted form of a spec stored before the
// webhooks (a segment added, a path normalised) changes nothing, and is not refused for
// the stored spec's problems.
func unchangedByDefaulting(req admission.Request) bool {
	old, _, err := defaulterOf(req)(req.OldObject.Raw)
	return err == nil && sameSpec(old, asStored(req))
}

// routeErrors are what the API's route cannot hold: in HTTPRoute mode (host names only), an
// HTTPRoute's limits. An internal API's route is a VirtualService in either mode.
func (v *Validator) routeErrors(api *odav1.ExposedAPI) field.ErrorList {
	if !v.Routes.HostNamesOnly || v.route(api).Internal {
		return nil
	}
	return validation.ValidateForHTTPRoute(&api.Spec, field.NewPath("spec"))
}

// decodeAPI reads JSON keys case-sensitively, as the API server and the controller's client
// do: with encoding/json a "Hostname" key would stand for hostname here, so the webhook
// would check a route other than the one stored and reconciled.
func decodeAPI(raw []byte, api *odav1.ExposedAPI) error {
	return utiljson.Unmarshal(raw, api)
}

// conflict refuses a route that another live ExposedAPI claims, as the controller counts
// claims (routes.Claimants). An update that keeps a route the API already claims is let
// through, so that a loser of an earlier race can still be edited; one that makes a stored
// invalid spec valid claims its route anew (an invalid spec without a route claims none).
func (v *Validator) conflict(ctx context.Context, api, old *odav1.ExposedAPI) (*field.Error, error) {
	route := v.route(api)
	key := route.Key()
	claimants, err := routes.Claimants(ctx, v.Reader, key, v.Served...)
	if err != nil {
		return nil, fmt.Errorf("looking up the routes of other ExposedAPIs: %w", err)
	}
	self := func(c odav1.ExposedAPI) bool { return c.Namespace == api.Namespace && c.Name == api.Name }
	if old != nil && v.route(old).Key() == key && slices.ContainsFunc(claimants, self) {
		return nil, nil
	}
	for _, c := range claimants {
		if c.DeletionTimestamp != nil || self(c) {
			continue
		}
		return field.Invalid(field.NewPath("spec", "path"), api.Spec.Path, fmt.Sprintf(
			"route %s is already exposed by ExposedAPI %s/%s; choose another path or hostname",
			route, c.Namespace, c.Name)), nil
	}
	return nil, nil
}

// route is the route api claims, its path normalised as the controller's index has it: a
// path stored before the webhooks existed may not be.
func (v *Validator) route(api *odav1.ExposedAPI) routes.Route {
	spec := api.Spec
	spec.Path = validation.NormalizePath(spec.Path)
	return v.Routes.Route(api.Namespace, &spec)
}

// specUnchanged answers an update that leaves the spec as stored (R2.4): a status write on
// the canvas's CRDs, a label, a finalizer. The problems of the spec, even of one stored
// before the webhooks existed, are warnings until the spec changes; only a component label
// that this update removes or makes invalid is refused.
func specUnchanged(api, old *odav1.ExposedAPI, errs field.ErrorList) admission.Response {
	label := odav1.ComponentNameLabel
	if bad := validation.ValidateComponentLabel(api.Labels); len(bad) > 0 && api.Labels[label] != old.Labels[label] {
		return denied(validation.ToStatusError(api.Name, bad))
	}
	return admission.Allowed("").WithWarnings(warningsOf(errs)...)
}

func denied(err error) admission.Response {
	status := err.(apierrors.APIStatus).Status()
	return admission.Response{AdmissionResponse: admissionv1.AdmissionResponse{Allowed: false, Result: &status}}
}

// legacyWarnings reach a user whose object skipped the defaulter (an older shape stored as is).
func legacyWarnings(api *odav1.ExposedAPI) []string {
	if s := api.Spec.Specification; s != nil && s.Legacy {
		return []string{"spec.specification: an older shape (a string or a list); write the v1 object {url, version}"}
	}
	return nil
}
