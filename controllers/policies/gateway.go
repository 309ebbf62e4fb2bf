package policies

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	networkingv1alpha3 "istio.io/client-go/pkg/apis/networking/v1alpha3"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8svalidation "k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/controllers/exposedapi"
	"github.com/oda-canvas/api-operator-istio/internal/policy"
	"github.com/oda-canvas/api-operator-istio/internal/routes"
)

// Token checks live in the ingress gateway's namespace, where an ownerReference to the
// ExposedAPI cannot point: labels name the API, and a finalizer on it removes them.
// +kubebuilder:rbac:groups=security.istio.io,resources=requestauthentications;authorizationpolicies,verbs=get;list;create;update;delete
// +kubebuilder:rbac:groups=networking.istio.io,resources=envoyfilters,verbs=get;list;create;update;delete

// Finalizer is on an ExposedAPI while it has token checks on the gateway.
const Finalizer = "oda.tmforum.org/gateway-policies"

// Labels naming the ExposedAPI of an object in the gateway's namespace.
const (
	APINamespaceLabel = "oda.tmforum.org/exposedapi-namespace"
	APINameLabel      = "oda.tmforum.org/exposedapi-name"
)

// Gateway is where the ingress gateway runs: its namespace ("" to find it from its
// Service) and the labels of its pods.
type Gateway struct {
	Namespace string
	Selector  map[string]string
	// Services reads the ingress gateway Services (those Selector selects).
	Services client.Reader
}

// gatewayName is unique per API: a namespace name has no dot.
func gatewayName(api *odav1.ExposedAPI) string { return api.Namespace + "." + api.Name }

func gatewayLabels(api *odav1.ExposedAPI) map[string]string {
	return map[string]string{managedByLabel: managedBy, APINamespaceLabel: api.Namespace, APINameLabel: nameLabelValue(api.Name)}
}

// nameLabelValue is the APINameLabel value of an API: its name, or, past the 63 characters
// of a label value (an object name may have 253, and Canvas names <component>-<api> often
// pass 63), its first 52 characters and 10 hex digits of a sha256 of all of it, unique for
// all that. A name that fits is kept as it is, so that the objects earlier versions wrote
// (only those could be written) are still found as the API's. A name is a DNS subdomain,
// so one that fits is a valid label value.
func nameLabelValue(name string) string {
	if len(name) <= k8svalidation.LabelValueMaxLength {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	return name[:52] + "-" + hex.EncodeToString(sum[:])[:10]
}

func keyFinding(ok bool, detail string) *finding {
	return &finding{Field: "spec.apiKeyVerification", Enforced: ok, Detail: detail}
}

// gatewayWant is what one policy wants on the gateway: its objects and what it reports.
type gatewayWant struct {
	objs    []client.Object
	finding *finding
}

// ensureGatewayObjects makes on the ingress gateway what the API's policies want there
// (token checks, rate limit), and removes the rest; the finalizer stays while any is there.
func (e *Extension) ensureGatewayObjects(ctx context.Context, api *odav1.ExposedAPI, spec *odav1.ExposedAPISpec) ([]finding, error) {
	if !e.wantsGatewayObjects(spec) {
		f := e.tokenChecks(api, spec, place{}, nil)
		return findings(f.finding), e.removeGatewayObjects(ctx, api)
	}
	places, f, err := e.places(ctx, api)
	if err != nil || f != nil {
		return findings(f), err
	}
	if err := e.addFinalizer(ctx, api); err != nil {
		return nil, err
	}
	var out []finding
	for _, at := range places {
		fs, err := e.ensureAt(ctx, api, spec, at)
		if err != nil {
			return nil, err
		}
		out = append(out, fs...)
	}
	return out, e.deleteElsewhere(ctx, api, places)
}

// wantsGatewayObjects tells whether spec asks for objects on the gateway (token checks, rate
// limit) that the settings let the operator make.
func (e *Extension) wantsGatewayObjects(spec *odav1.ExposedAPISpec) bool {
	return policy.KeyVerification(spec) && e.Settings.Auth.Enabled() || e.Settings.RateLimit.Local(spec)
}

// places are where the API's objects on the gateway go: placement's and, while the API's
// former VirtualService still routes it through the ingress gateway (HTTPRoute mode, until
// the Gateway accepts the HTTPRoute, exposedapi withdrawing it then), those pods' too.
func (e *Extension) places(ctx context.Context, api *odav1.ExposedAPI) ([]place, *finding, error) {
	at, f, err := e.placement(ctx, api)
	if err != nil || f != nil || !e.formerRouteServes(ctx, api) {
		return []place{at}, f, err
	}
	ingress := place{Namespace: e.Gateway.Namespace, Attach: policy.Attachment{Selector: e.Gateway.Selector}}
	if at.Namespace == ingress.Namespace {
		// The Gateway's checks would take the same names: the serving route's come first,
		// and move to the Gateway once that route goes.
		return []place{ingress}, nil, nil
	}
	return []place{at, ingress}, nil, nil
}

// ensureAt makes the API's objects at one place, and removes those of kinds no policy wants.
func (e *Extension) ensureAt(ctx context.Context, api *odav1.ExposedAPI, spec *odav1.ExposedAPISpec, at place) ([]finding, error) {
	meta := metav1.ObjectMeta{Namespace: at.Namespace, Name: gatewayName(api), Labels: gatewayLabels(api)}
	wants := []gatewayWant{e.tokenChecks(api, spec, at, &meta)}
	rl, err := e.rateLimit(ctx, spec, &meta)
	if err != nil {
		return nil, err
	}
	wants = append(wants, rl)
	var out []finding
	for _, w := range wants {
		f, err := e.applyWant(ctx, api, w)
		if err != nil {
			return nil, err
		}
		out = append(out, findings(f)...)
	}
	_, err = e.deleteUnwanted(ctx, api, at.Namespace, wants)
	return out, err
}

// formerRouteServes tells, in HTTPRoute mode, whether the API's VirtualService on the
// ingress gateway still routes it.
func (e *Extension) formerRouteServes(ctx context.Context, api *odav1.ExposedAPI) bool {
	if e.Kubernetes == nil || e.Gateway.Namespace == "" {
		return false
	}
	vs := &networkingv1.VirtualService{}
	err := e.Client.Get(ctx, client.ObjectKeyFromObject(api), vs)
	return err == nil && exposedapi.OwnedBy(vs, api.UID) && routes.MeshHost(vs) == ""
}

// deleteElsewhere deletes the API's objects on the gateway in the namespaces they may be in
// (a Gateway that changed, a former route API) other than where they go now.
func (e *Extension) deleteElsewhere(ctx context.Context, api *odav1.ExposedAPI, places []place) error {
	at := fmt.Sprint(places)
	if done, ok := e.swept.Load(api.UID); ok && done == at {
		return nil
	}
	all, err := e.namespaces(ctx, api)
	if err != nil {
		return err
	}
	for _, ns := range all {
		if slices.ContainsFunc(places, func(p place) bool { return p.Namespace == ns }) {
			continue
		}
		if _, err := e.deleteUnwanted(ctx, api, ns, nil); err != nil {
			return err
		}
	}
	if e.byLabel() {
		e.swept.Store(api.UID, at)
	}
	return nil
}

// applyWant writes the objects of one policy and says what it reports: its finding, or
// that an object of another's stands in the way, the other policies going on.
func (e *Extension) applyWant(ctx context.Context, api *odav1.ExposedAPI, w gatewayWant) (*finding, error) {
	field := "spec"
	if w.finding != nil {
		field = w.finding.Field
	}
	for _, obj := range w.objs {
		if f, err := e.applyGatewayObject(ctx, api, obj, field); f != nil || err != nil {
			return f, err
		}
	}
	return w.finding, nil
}

func findings(f *finding) []finding {
	if f == nil {
		return nil
	}
	return []finding{*f}
}

// tokenChecks are the RequestAuthentication and AuthorizationPolicy of an API with
// apiKeyVerification, on the pods of at; meta nil when there is no gateway to put them on.
func (e *Extension) tokenChecks(api *odav1.ExposedAPI, spec *odav1.ExposedAPISpec, at place, meta *metav1.ObjectMeta) gatewayWant {
	auth := e.Settings.Auth
	switch {
	case !policy.KeyVerification(spec):
		return gatewayWant{}
	case !auth.Enabled():
		return gatewayWant{finding: keyFinding(false, "no token issuer is configured (--jwt-issuer, APIOPERATORISTIO_JWTISSUER) nor an ext_authz provider (--api-key-authz-provider): requests pass unchecked")}
	}
	var w gatewayWant
	if want := auth.RequestAuthentication(spec, at.Attach); want != nil {
		ra := &securityv1.RequestAuthentication{ObjectMeta: *meta.DeepCopy()}
		want.DeepCopyInto(&ra.Spec)
		w.objs = append(w.objs, ra)
	}
	ap := e.authorizationPolicy(api, spec, at, meta)
	w.objs = append(w.objs, ap)
	w.finding = keyFinding(true, tokenDetail(auth, spec, at, meta.Name)+wildcardDetail(spec, e.Routes.Route(api.Namespace, spec).Host))
	return w
}

// authorizationPolicy is the API's AuthorizationPolicy on the pods of at.
func (e *Extension) authorizationPolicy(api *odav1.ExposedAPI, spec *odav1.ExposedAPISpec, at place, meta *metav1.ObjectMeta) *securityv1.AuthorizationPolicy {
	// The route's host, not spec.hostname, which a public host name overrides: the requests
	// the route takes are the ones to check.
	host := e.Routes.Route(api.Namespace, spec).Host
	ap := &securityv1.AuthorizationPolicy{ObjectMeta: *meta.DeepCopy()}
	e.Settings.Auth.AuthorizationPolicy(spec, host, at.Attach).DeepCopyInto(&ap.Spec)
	return ap
}

// rateLimit is the EnvoyFilter of the API's route, and the gateway's shared one that puts
// the local rate limit filter in its chain.
func (e *Extension) rateLimit(ctx context.Context, spec *odav1.ExposedAPISpec, meta *metav1.ObjectMeta) (gatewayWant, error) {
	if !e.Settings.RateLimit.Local(spec) {
		return gatewayWant{}, nil
	}
	ef, err := e.routeRateLimit(spec, meta)
	if err != nil {
		return gatewayWant{}, err
	}
	shared, err := e.ensureSharedFilter(ctx, meta.Namespace)
	// The route's filter is written all the same: it limits once the other's goes.
	if err != nil || shared != nil {
		return gatewayWant{objs: []client.Object{ef}, finding: shared}, err
	}
	per := "second"
	if spec.RateLimit.Interval == "pm" {
		per = "minute"
	}
	return gatewayWant{objs: []client.Object{ef}, finding: &finding{Field: "spec.rateLimit", Enforced: true, Detail: fmt.Sprintf(
		"EnvoyFilter %s/%s: %s requests per %s, counted by each ingress gateway replica", meta.Namespace, meta.Name, spec.RateLimit.Limit, per)}}, nil
}

// routeRateLimit is the EnvoyFilter that sets the API's rate limit on its route.
func (e *Extension) routeRateLimit(spec *odav1.ExposedAPISpec, meta *metav1.ObjectMeta) (*networkingv1alpha3.EnvoyFilter, error) {
	want, err := policy.RouteRateLimit(spec, e.Gateway.Selector)
	if err != nil {
		return nil, err
	}
	ef := &networkingv1alpha3.EnvoyFilter{ObjectMeta: *meta.DeepCopy()}
	want.DeepCopyInto(&ef.Spec)
	return ef, nil
}

func tokenDetail(auth policy.AuthSettings, spec *odav1.ExposedAPISpec, at place, name string) string {
	ns := at.Namespace
	if at.Attach.Gateway != "" {
		name += " (on Gateway " + at.Attach.Gateway + ")"
	}
	if auth.Provider != "" {
		return fmt.Sprintf("AuthorizationPolicy %s/%s sends requests to ext_authz provider %s", ns, name, auth.Provider)
	}
	where := "the Authorization bearer token"
	if loc := spec.APIKeyVerification.Location; loc != "" && !strings.EqualFold(loc, "Authorization") {
		where = "a token in " + loc
	}
	return fmt.Sprintf("RequestAuthentication and AuthorizationPolicy %s/%s require %s, a JWT of %s", ns, name, where, auth.Issuer)
}

// wildcardDetail says that a wildcard route's check covers its path on every host.
func wildcardDetail(spec *odav1.ExposedAPISpec, host string) string {
	if !policy.WildcardHost(host) {
		return ""
	}
	return fmt.Sprintf(", for path %s on every host of the gateway (Istio cannot match %s with a port)", spec.Path, host)
}

// applyGatewayObject creates want or updates the stored object to it; an object of that
// name that does not name this API is left alone and reported.
func (e *Extension) applyGatewayObject(ctx context.Context, api *odav1.ExposedAPI, want client.Object, field string) (*finding, error) {
	stored, err := e.readGatewayObject(ctx, want)
	switch {
	case apierrors.IsNotFound(err):
		return nil, e.Client.Create(ctx, want)
	case err != nil:
		return nil, err
	case !names(stored, api):
		return &finding{Field: field, Detail: exposedapi.InTheWay(kindOf(stored), stored.GetNamespace(), stored.GetName())}, nil
	case proto.Equal(specOf(stored), specOf(want)), e.stillMoving(stored, want):
		return nil, nil
	}
	want.SetResourceVersion(stored.GetResourceVersion())
	return nil, e.Client.Update(ctx, want)
}

func kindOf(obj client.Object) string { return reflect.TypeOf(obj).Elem().Name() }

func specOf(obj client.Object) proto.Message {
	switch o := obj.(type) {
	case *securityv1.RequestAuthentication:
		return &o.Spec
	case *securityv1.AuthorizationPolicy:
		return &o.Spec
	case *networkingv1alpha3.EnvoyFilter:
		return &o.Spec
	}
	return nil
}

func names(obj client.Object, api *odav1.ExposedAPI) bool {
	l := obj.GetLabels()
	return l[APINamespaceLabel] == api.Namespace && l[APINameLabel] == nameLabelValue(api.Name) && l[managedByLabel] == managedBy
}

// gatewayKinds are the kinds of the objects an API may have on the gateway under the
// operator's settings, and the kinds it leaves alone: the chart grants a kind only while
// its setting is on, so an API's object of a kind turned off stays, for an admin to remove.
func (e *Extension) gatewayKinds(meta metav1.ObjectMeta) (managed []client.Object, left []string) {
	if e.Settings.Auth.Enabled() {
		managed = append(managed, &securityv1.RequestAuthentication{ObjectMeta: meta}, &securityv1.AuthorizationPolicy{ObjectMeta: meta})
	} else {
		left = append(left, "RequestAuthentication", "AuthorizationPolicy")
	}
	if e.Settings.RateLimit.Enabled() {
		managed = append(managed, &networkingv1alpha3.EnvoyFilter{ObjectMeta: meta})
	} else {
		left = append(left, "EnvoyFilter")
	}
	return managed, left
}

// deleteUnwanted deletes the API's objects on the gateway that no policy wants, of the
// kinds the settings let it manage; it returns the kinds it did not look at.
func (e *Extension) deleteUnwanted(ctx context.Context, api *odav1.ExposedAPI, ns string, wants []gatewayWant) ([]string, error) {
	managed, left := e.gatewayKinds(metav1.ObjectMeta{Namespace: ns, Name: gatewayName(api)})
	for _, obj := range managed {
		wanted := slices.ContainsFunc(wants, func(w gatewayWant) bool {
			return slices.ContainsFunc(w.objs, func(o client.Object) bool { return reflect.TypeOf(o) == reflect.TypeOf(obj) })
		})
		if !wanted {
			if err := e.deleteOurs(ctx, api, obj); err != nil {
				return nil, err
			}
		}
	}
	return left, nil
}

// removeGatewayObjects deletes the API's objects on the gateway, then its finalizer.
func (e *Extension) removeGatewayObjects(ctx context.Context, api *odav1.ExposedAPI) error {
	if !controllerutil.ContainsFinalizer(api, Finalizer) {
		return nil
	}
	all, err := e.namespaces(ctx, api)
	if err != nil {
		return err
	}
	for _, ns := range all {
		if left, err := e.deleteUnwanted(ctx, api, ns, nil); err != nil {
			return err
		} else if len(left) > 0 {
			logf.FromContext(ctx).Info("objects of kinds whose setting is off are not looked at: any the API had on the gateway are left in place",
				"kinds", left, "namespace", ns, "labels", gatewayLabels(api))
		}
	}
	return e.dropFinalizer(ctx, api)
}

func (e *Extension) dropFinalizer(ctx context.Context, api *odav1.ExposedAPI) error {
	e.swept.Delete(api.UID)
	e.handed.Delete(api.UID)
	if !controllerutil.ContainsFinalizer(api, Finalizer) {
		return nil
	}
	patch := client.MergeFromWithOptions(api.DeepCopy(), client.MergeFromWithOptimisticLock{})
	controllerutil.RemoveFinalizer(api, Finalizer)
	return e.Client.Patch(ctx, api, patch)
}

func (e *Extension) deleteOurs(ctx context.Context, api *odav1.ExposedAPI, obj client.Object) error {
	err := e.APIReader.Get(ctx, client.ObjectKeyFromObject(obj), obj)
	if err != nil || !names(obj, api) {
		return client.IgnoreNotFound(err)
	}
	uid := obj.GetUID()
	return client.IgnoreNotFound(e.Client.Delete(ctx, obj, client.Preconditions{UID: &uid}))
}

func (e *Extension) addFinalizer(ctx context.Context, api *odav1.ExposedAPI) error {
	if controllerutil.ContainsFinalizer(api, Finalizer) {
		return nil
	}
	patch := client.MergeFromWithOptions(api.DeepCopy(), client.MergeFromWithOptimisticLock{})
	controllerutil.AddFinalizer(api, Finalizer)
	return e.Client.Patch(ctx, api, patch)
}

// gatewayNamespace is the configured one, or the one namespace the ingress gateway
// Services are in; "" when there is none or more than one.
func (e *Extension) gatewayNamespace(ctx context.Context) (string, error) {
	if e.Gateway.Namespace != "" || e.Gateway.Services == nil {
		return e.Gateway.Namespace, nil
	}
	var list corev1.ServiceList
	if err := e.Gateway.Services.List(ctx, &list, client.MatchingLabels(e.Gateway.Selector)); err != nil {
		return "", err
	}
	var found []string
	for i := range list.Items {
		if ns := list.Items[i].Namespace; !slices.Contains(found, ns) {
			found = append(found, ns)
		}
	}
	if len(found) != 1 {
		return "", nil
	}
	return found[0], nil
}

// SharedFilterName is the gateway's EnvoyFilter that puts the local rate limit filter in
// its chain. It limits nothing by itself, so it stays when the last rate-limited API goes.
const SharedFilterName = "api-operator-istio-local-ratelimit"

// ensureSharedFilter makes the gateway's shared filter; a finding instead when another
// owner's holds its name: without ours the routes' rate limits limit nothing.
func (e *Extension) ensureSharedFilter(ctx context.Context, ns string) (*finding, error) {
	want := &networkingv1alpha3.EnvoyFilter{ObjectMeta: metav1.ObjectMeta{
		Namespace: ns, Name: SharedFilterName, Labels: map[string]string{managedByLabel: managedBy},
	}}
	policy.LocalRateLimitFilter(e.Gateway.Selector).DeepCopyInto(&want.Spec)
	stored := &networkingv1alpha3.EnvoyFilter{}
	err := e.APIReader.Get(ctx, client.ObjectKeyFromObject(want), stored)
	switch {
	case apierrors.IsNotFound(err):
		return nil, client.IgnoreAlreadyExists(e.Client.Create(ctx, want))
	case err != nil:
		return nil, err
	case !sharedFilterOurs(stored):
		return &finding{Field: "spec.rateLimit", Detail: exposedapi.InTheWay(kindOf(stored), ns, SharedFilterName)}, nil
	case proto.Equal(&stored.Spec, &want.Spec):
		return nil, nil
	}
	want.ResourceVersion = stored.ResourceVersion
	return nil, e.Client.Update(ctx, want)
}

// sharedFilterOurs: the shared filter names no API, being every API's.
func sharedFilterOurs(obj client.Object) bool { return obj.GetLabels()[managedByLabel] == managedBy }
