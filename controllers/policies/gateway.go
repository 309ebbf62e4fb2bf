package policies

import (
	"context"
	"fmt"
	"slices"

	"google.golang.org/protobuf/proto"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/internal/policy"
)

// Token checks live in the ingress gateway's namespace, where an ownerReference to the
// ExposedAPI cannot point: labels name the API, and a finalizer on it removes them.
// +kubebuilder:rbac:groups=security.istio.io,resources=requestauthentications;authorizationpolicies,verbs=get;create;update;delete

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
	return map[string]string{managedByLabel: managedBy, APINamespaceLabel: api.Namespace, APINameLabel: api.Name}
}

func keyFinding(ok bool, detail string) *finding {
	return &finding{Field: "spec.apiKeyVerification", Enforced: ok, Detail: detail}
}

// ensureTokenChecks makes the gateway check the callers of an API with apiKeyVerification,
// and removes the checks of one without.
func (e *Extension) ensureTokenChecks(ctx context.Context, api *odav1.ExposedAPI, spec *odav1.ExposedAPISpec) (*finding, error) {
	if !policy.KeyVerification(spec) {
		return nil, e.removeTokenChecks(ctx, api)
	}
	auth := e.Settings.Auth
	if !auth.Enabled() {
		return keyFinding(false, "no token issuer is configured (--jwt-issuer, APIOPERATORISTIO_JWTISSUER) nor an ext_authz provider (--api-key-authz-provider): requests pass unchecked"),
			e.removeTokenChecks(ctx, api)
	}
	ns, err := e.gatewayNamespace(ctx)
	if err != nil || ns == "" {
		return keyFinding(false, "the ingress gateway's namespace is not known: set --ingress-gateway-namespace; requests pass unchecked"), err
	}
	if err := e.addFinalizer(ctx, api); err != nil {
		return nil, err
	}
	meta := metav1.ObjectMeta{Namespace: ns, Name: gatewayName(api), Labels: gatewayLabels(api)}
	var objs []client.Object
	if want := auth.RequestAuthentication(spec, e.Gateway.Selector); want != nil {
		ra := &securityv1.RequestAuthentication{ObjectMeta: meta}
		want.DeepCopyInto(&ra.Spec)
		objs = append(objs, ra)
	} else if err := e.deleteOurs(ctx, api, &securityv1.RequestAuthentication{ObjectMeta: meta}); err != nil {
		return nil, err
	}
	ap := &securityv1.AuthorizationPolicy{ObjectMeta: *meta.DeepCopy()}
	auth.AuthorizationPolicy(spec, e.Gateway.Selector).DeepCopyInto(&ap.Spec)
	objs = append(objs, ap)
	for _, obj := range objs {
		if f, err := e.applyGatewayObject(ctx, api, obj); f != nil || err != nil {
			return f, err
		}
	}
	return keyFinding(true, tokenDetail(auth, spec, ns, gatewayName(api))), nil
}

func tokenDetail(auth policy.AuthSettings, spec *odav1.ExposedAPISpec, ns, name string) string {
	if auth.Provider != "" {
		return fmt.Sprintf("AuthorizationPolicy %s/%s sends requests to ext_authz provider %s", ns, name, auth.Provider)
	}
	where := "the Authorization bearer token"
	if loc := spec.APIKeyVerification.Location; loc != "" && loc != "Authorization" {
		where = "a token in " + loc
	}
	return fmt.Sprintf("RequestAuthentication and AuthorizationPolicy %s/%s require %s, a JWT of %s", ns, name, where, auth.Issuer)
}

// applyGatewayObject creates want or updates the stored object to it; an object of that
// name that does not name this API is left alone and reported.
func (e *Extension) applyGatewayObject(ctx context.Context, api *odav1.ExposedAPI, want client.Object) (*finding, error) {
	stored := want.DeepCopyObject().(client.Object)
	err := e.APIReader.Get(ctx, client.ObjectKeyFromObject(want), stored)
	switch {
	case apierrors.IsNotFound(err):
		return nil, e.Client.Create(ctx, want)
	case err != nil:
		return nil, err
	case !names(stored, api):
		return keyFinding(false, fmt.Sprintf("%T %s/%s exists and was not made for this ExposedAPI; delete or rename it",
			stored, stored.GetNamespace(), stored.GetName())), nil
	case proto.Equal(specOf(stored), specOf(want)):
		return nil, nil
	}
	want.SetResourceVersion(stored.GetResourceVersion())
	return nil, e.Client.Update(ctx, want)
}

func specOf(obj client.Object) proto.Message {
	switch o := obj.(type) {
	case *securityv1.RequestAuthentication:
		return &o.Spec
	case *securityv1.AuthorizationPolicy:
		return &o.Spec
	}
	return nil
}

func names(obj client.Object, api *odav1.ExposedAPI) bool {
	l := obj.GetLabels()
	return l[APINamespaceLabel] == api.Namespace && l[APINameLabel] == api.Name && l[managedByLabel] == managedBy
}

// removeTokenChecks deletes the API's objects on the gateway, then its finalizer.
func (e *Extension) removeTokenChecks(ctx context.Context, api *odav1.ExposedAPI) error {
	if !controllerutil.ContainsFinalizer(api, Finalizer) {
		return nil
	}
	ns, err := e.gatewayNamespace(ctx)
	if err != nil {
		return err
	}
	if ns == "" {
		logf.FromContext(ctx).Info("ingress gateway namespace unknown: token checks of the API left in place", "labels", gatewayLabels(api))
	} else {
		meta := metav1.ObjectMeta{Namespace: ns, Name: gatewayName(api)}
		for _, obj := range []client.Object{&securityv1.RequestAuthentication{ObjectMeta: meta}, &securityv1.AuthorizationPolicy{ObjectMeta: meta}} {
			if err := e.deleteOurs(ctx, api, obj); err != nil {
				return err
			}
		}
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
