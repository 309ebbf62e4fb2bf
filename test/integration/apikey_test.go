package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	securityapi "istio.io/api/security/v1beta1"
	typev1beta1 "istio.io/api/type/v1beta1"
	networkingv1alpha3 "istio.io/client-go/pkg/apis/networking/v1alpha3"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/internal/app"
	"github.com/oda-canvas/api-operator-istio/test/harness"
)

const issuer = "https://idp.example.com/realms/canvas"

var gatewayPods = &typev1beta1.WorkloadSelector{MatchLabels: map[string]string{"istio": "ingressgateway"}}

// istioObject waits until the object of that key has the spec (nil: until there is none)
// and returns it.
func istioObject[T client.Object, M proto.Message](t *testing.T, env *harness.Env, obj T, key client.ObjectKey, spec func(T) M, want M) T {
	t.Helper()
	none := any(want) == any(*new(M))
	harness.Eventually(t, fmt.Sprintf("%T %s", obj, key), func() error {
		err := env.Client.Get(context.Background(), key, obj)
		switch {
		case none && isNotFound(err):
			return nil
		case err != nil:
			return err
		case none:
			return fmt.Errorf("still there")
		case !proto.Equal(spec(obj), want):
			return fmt.Errorf("spec %v, want %v", spec(obj), want)
		}
		return nil
	})
	return obj
}

func requestAuthentication(t *testing.T, env *harness.Env, name string, want *securityapi.RequestAuthentication) *securityv1.RequestAuthentication {
	t.Helper()
	return istioObject(t, env, &securityv1.RequestAuthentication{}, client.ObjectKey{Namespace: "istio-system", Name: name},
		func(o *securityv1.RequestAuthentication) *securityapi.RequestAuthentication { return &o.Spec }, want)
}

func authorizationPolicy(t *testing.T, env *harness.Env, name string, want *securityapi.AuthorizationPolicy) *securityv1.AuthorizationPolicy {
	t.Helper()
	return istioObject(t, env, &securityv1.AuthorizationPolicy{}, client.ObjectKey{Namespace: "istio-system", Name: name},
		func(o *securityv1.AuthorizationPolicy) *securityapi.AuthorizationPolicy { return &o.Spec }, want)
}

// denyWithoutToken is the DENY of an API with apiKeyVerification; notMethods are OPTIONS
// for an API with CORS, whose preflights pass unchecked.
func denyWithoutToken(hosts []string, path string, notMethods ...string) *securityapi.AuthorizationPolicy {
	return &securityapi.AuthorizationPolicy{
		Selector: gatewayPods,
		Action:   securityapi.AuthorizationPolicy_DENY,
		Rules: []*securityapi.Rule{{
			From: []*securityapi.Rule_From{{Source: &securityapi.Source{NotRequestPrincipals: []string{issuer + "/*"}}}},
			To:   []*securityapi.Rule_To{{Operation: &securityapi.Operation{Hosts: hosts, Paths: []string{path}, NotMethods: notMethods}}},
		}},
	}
}

// TestAPIKeyVerification: apiKeyVerification makes the ingress gateway require a JWT of
// the configured issuer, where location says, for the API's host and path prefix only (a
// wildcard host: the path on every host), OPTIONS too unless the API has CORS; the objects
// follow the spec and go, with the API's finalizer, when the block or the API goes.
// Another API gets nothing.
func TestAPIKeyVerification(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		ctx := context.Background()
		env, ns := startWithImplAnd(t, set, func(o *app.Options) {
			o.JWTIssuer, o.JWKSURI = issuer, "https://idp.example.com/certs"
		})

		createOther(t, env, ns)
		api := harness.API(ns, "shop", "/shop", "impl", 8080)
		api.Spec.Hostname = "shop.example.com"
		api.Spec.APIKeyVerification = &odav1.APIKeyVerification{Enabled: ptr.To(true), Location: "X-API-Key"}
		require.NoError(t, env.Client.Create(ctx, api))

		rule := &securityapi.JWTRule{Issuer: issuer, JwksUri: "https://idp.example.com/certs", ForwardOriginalToken: true,
			FromHeaders: []*securityapi.JWTHeader{{Name: "X-API-Key"}}}
		ra := requestAuthentication(t, env, "components.shop", &securityapi.RequestAuthentication{Selector: gatewayPods, JwtRules: []*securityapi.JWTRule{rule}})
		assert.Equal(t, map[string]string{"app.kubernetes.io/managed-by": "api-operator-istio",
			"oda.tmforum.org/exposedapi-namespace": ns, "oda.tmforum.org/exposedapi-name": "shop"}, ra.Labels)
		authorizationPolicy(t, env, "components.shop", denyWithoutToken([]string{"shop.example.com", "shop.example.com:*"}, "/shop*"))
		msg := waitCondition(t, env, api, "PoliciesProgrammed", true, "PoliciesEnforced")
		assert.Contains(t, msg, "spec.apiKeyVerification (RequestAuthentication and AuthorizationPolicy istio-system/components.shop require a token in X-API-Key, a JWT of "+issuer+")")
		got := waitReady(t, env, api, "https://shop.example.com/shop")
		assert.True(t, controllerutil.ContainsFinalizer(got, "oda.tmforum.org/gateway-policies"))

		// A wildcard host, which a Host with a port would escape, leaves the hosts out; CORS
		// lets its preflights through.
		env.UpdateAPI(t, api, func(api *odav1.ExposedAPI) {
			api.Spec.Hostname, api.Spec.CORS = "*.example.com", &odav1.CORS{Enabled: ptr.To(true)}
		})
		authorizationPolicy(t, env, "components.shop", denyWithoutToken(nil, "/shop*", "OPTIONS"))
		waitConditionSays(t, env, api, "PoliciesProgrammed", "a JWT of "+issuer+", for path /shop on every host of the gateway (Istio cannot match *.example.com with a port)")
		env.UpdateAPI(t, api, func(api *odav1.ExposedAPI) { api.Spec.Hostname, api.Spec.CORS = "shop.example.com", nil })
		authorizationPolicy(t, env, "components.shop", denyWithoutToken([]string{"shop.example.com", "shop.example.com:*"}, "/shop*"))

		// An invalid spec keeps its last route, and so the route's token checks. Both
		// objects had this spec before, so they are read only after one more reconcile of
		// the invalid spec (one that already sees PoliciesKept) has finished, and for a while.
		env.UpdateAPI(t, api, func(api *odav1.ExposedAPI) { api.Spec.Port = 0 })
		waitCondition(t, env, api, "PoliciesProgrammed", false, "PoliciesKept")
		resync(t, env, api)
		keptRA := &securityapi.RequestAuthentication{Selector: gatewayPods, JwtRules: []*securityapi.JWTRule{rule}}
		keptAP := denyWithoutToken([]string{"shop.example.com", "shop.example.com:*"}, "/shop*")
		requestAuthentication(t, env, "components.shop", keptRA)
		authorizationPolicy(t, env, "components.shop", keptAP)
		assert.Never(t, func() bool {
			ra, ap := &securityv1.RequestAuthentication{}, &securityv1.AuthorizationPolicy{}
			key := client.ObjectKey{Namespace: "istio-system", Name: "components.shop"}
			return env.Client.Get(ctx, key, ra) != nil || env.Client.Get(ctx, key, ap) != nil ||
				!proto.Equal(&ra.Spec, keptRA) || !proto.Equal(&ap.Spec, keptAP)
		}, 2*time.Second, harness.Tick, "the token checks of an API with an invalid spec changed or went")
		env.UpdateAPI(t, api, func(api *odav1.ExposedAPI) { api.Spec.Port = 8080 })

		// A query parameter; another path and any host.
		env.UpdateAPI(t, api, func(api *odav1.ExposedAPI) {
			api.Spec.APIKeyVerification.Location, api.Spec.Path, api.Spec.Hostname = "?apikey", "/store", ""
		})
		rule.FromHeaders, rule.FromParams = nil, []string{"apikey"}
		requestAuthentication(t, env, "components.shop", &securityapi.RequestAuthentication{Selector: gatewayPods, JwtRules: []*securityapi.JWTRule{rule}})
		authorizationPolicy(t, env, "components.shop", denyWithoutToken(nil, "/store*"))

		// Empty location: the Authorization bearer token.
		env.UpdateAPI(t, api, func(api *odav1.ExposedAPI) { api.Spec.APIKeyVerification.Location = "" })
		rule.FromParams = nil
		requestAuthentication(t, env, "components.shop", &securityapi.RequestAuthentication{Selector: gatewayPods, JwtRules: []*securityapi.JWTRule{rule}})

		requestAuthentication(t, env, "components.other", nil)
		authorizationPolicy(t, env, "components.other", nil)

		// The block removed: the objects and the finalizer go.
		env.UpdateAPI(t, api, func(api *odav1.ExposedAPI) { api.Spec.APIKeyVerification = nil })
		requestAuthentication(t, env, "components.shop", nil)
		authorizationPolicy(t, env, "components.shop", nil)
		env.WaitAPI(t, api, "no finalizer", func(got *odav1.ExposedAPI) error {
			if len(got.Finalizers) > 0 {
				return fmt.Errorf("finalizers %v", got.Finalizers)
			}
			return nil
		})

		// Back, then the API deleted: the objects go, then the API.
		env.UpdateAPI(t, api, func(api *odav1.ExposedAPI) {
			api.Spec.APIKeyVerification = &odav1.APIKeyVerification{Enabled: ptr.To(true)}
		})
		requestAuthentication(t, env, "components.shop", &securityapi.RequestAuthentication{Selector: gatewayPods, JwtRules: []*securityapi.JWTRule{rule}})
		otherAP := &securityv1.AuthorizationPolicy{}
		otherAP.Namespace, otherAP.Name = "istio-system", "hand-made"
		otherAP.Labels = map[string]string{"oda.tmforum.org/exposedapi-namespace": ns, "oda.tmforum.org/exposedapi-name": "other"}
		require.NoError(t, env.Client.Create(ctx, otherAP))
		require.NoError(t, env.Client.Delete(ctx, api))
		requestAuthentication(t, env, "components.shop", nil)
		authorizationPolicy(t, env, "components.shop", nil)
		harness.Eventually(t, "the API gone", func() error {
			if err := env.Client.Get(ctx, client.ObjectKeyFromObject(api), api); !isNotFound(err) {
				return fmt.Errorf("still there (%v)", err)
			}
			return nil
		})
		require.NoError(t, env.Client.Get(ctx, client.ObjectKeyFromObject(otherAP), otherAP), "another object is left alone")
	})
}

// TestAPIKeyVerificationWithoutIssuer: with no issuer configured the API says that its
// callers are not checked, and is not Ready; nothing is made on the gateway.
func TestAPIKeyVerificationWithoutIssuer(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		ctx := context.Background()
		env, ns := startWithImpl(t, set)
		api := harness.API(ns, "shop", "/shop", "impl", 8080)
		api.Spec.APIKeyVerification = &odav1.APIKeyVerification{Enabled: ptr.To(true)}
		require.NoError(t, env.Client.Create(ctx, api))
		msg := waitCondition(t, env, api, "PoliciesProgrammed", false, "PolicyNotEnforced")
		assert.Equal(t, "not enforced: spec.apiKeyVerification (no token issuer is configured (--jwt-issuer, APIOPERATORISTIO_JWTISSUER) "+
			"nor an ext_authz provider (--api-key-authz-provider): requests pass unchecked)", msg)
		waitCondition(t, env, api, "Ready", false, "PolicyNotEnforced")
		notEnforcedNotes(t, env, api, "spec.apiKeyVerification")
		requestAuthentication(t, env, "components.shop", nil)
		authorizationPolicy(t, env, "components.shop", nil)
	})
}

// TestAPIKeyVerificationByProvider: with --api-key-authz-provider the mesh's ext_authz
// provider checks the API's requests (CUSTOM), and no RequestAuthentication is made.
func TestAPIKeyVerificationByProvider(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		ctx := context.Background()
		env, ns := startWithImplAnd(t, set, func(o *app.Options) { o.APIKeyAuthzProvider = "canvas-ext-authz" })
		api := harness.API(ns, "shop", "/shop", "impl", 8080)
		api.Spec.APIKeyVerification = &odav1.APIKeyVerification{Enabled: ptr.To(true), Location: "X-API-Key"}
		require.NoError(t, env.Client.Create(ctx, api))

		authorizationPolicy(t, env, "components.shop", &securityapi.AuthorizationPolicy{
			Selector: gatewayPods,
			Action:   securityapi.AuthorizationPolicy_CUSTOM,
			ActionDetail: &securityapi.AuthorizationPolicy_Provider{
				Provider: &securityapi.AuthorizationPolicy_ExtensionProvider{Name: "canvas-ext-authz"},
			},
			Rules: []*securityapi.Rule{{To: []*securityapi.Rule_To{{Operation: &securityapi.Operation{
				Paths: []string{"/shop*"},
			}}}}},
		})
		requestAuthentication(t, env, "components.shop", nil)
		assert.Contains(t, waitCondition(t, env, api, "PoliciesProgrammed", true, "PoliciesEnforced"),
			"AuthorizationPolicy istio-system/components.shop sends requests to ext_authz provider canvas-ext-authz")
	})
}

// TestAPIKeyVerificationOnThePublicHostname: the public host name is the route's host over
// the spec's hostname, so it is the host whose requests need a token.
func TestAPIKeyVerificationOnThePublicHostname(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		env, ns := startWithImplAnd(t, set, func(o *app.Options) {
			o.JWTIssuer, o.PublicHostname = issuer, "apis.example.org"
		})
		api := harness.API(ns, "shop", "/shop", "impl", 8080)
		api.Spec.Hostname = "shop.example.com"
		api.Spec.APIKeyVerification = &odav1.APIKeyVerification{Enabled: ptr.To(true)}
		require.NoError(t, env.Client.Create(context.Background(), api))

		virtualService(t, env, api, routeIs("apis.example.org", "component-gateway", "/shop", "impl", 8080))
		authorizationPolicy(t, env, "components.shop", denyWithoutToken([]string{"apis.example.org", "apis.example.org:*"}, "/shop*"))
		waitCondition(t, env, api, "PoliciesProgrammed", true, "PoliciesEnforced")
	})
}

// waitConditionSays waits until the condition's message has text.
func waitConditionSays(t *testing.T, env *harness.Env, api *odav1.ExposedAPI, typ, text string) {
	t.Helper()
	env.WaitAPI(t, api, typ+" saying "+text, func(got *odav1.ExposedAPI) error {
		if c := meta.FindStatusCondition(got.Status.Conditions, typ); c == nil || !strings.Contains(c.Message, text) {
			return fmt.Errorf("condition %v", c)
		}
		return nil
	})
}

// TestForeignObjectOnTheGateway: an object of the API's name on the gateway that is not the
// operator's is left alone and reported under the policy it stands in the way of; the
// API's other policies are still programmed. Once it is deleted the API gets its own, with
// no change to the API: nothing watches the gateway's objects, so only the recheck sees it.
func TestForeignObjectOnTheGateway(t *testing.T) {
	ctx := context.Background()
	env, ns := startWithImplAnd(t, harness.Generated, func(o *app.Options) {
		o.JWTIssuer, o.RateLimitMode, o.RefusedRetry = issuer, "local", time.Second
	})
	foreign := &networkingv1alpha3.EnvoyFilter{ObjectMeta: metav1.ObjectMeta{Namespace: "istio-system", Name: ns + ".shop"}}
	require.NoError(t, env.Client.Create(ctx, foreign))

	api := harness.API(ns, "shop", "/shop", "impl", 8080)
	api.Spec.APIKeyVerification = &odav1.APIKeyVerification{Enabled: ptr.To(true), Location: "authorization"}
	api.Spec.RateLimit = &odav1.RateLimit{Enabled: ptr.To(true), Limit: "10"}
	require.NoError(t, env.Client.Create(ctx, api))

	msg := waitCondition(t, env, api, "PoliciesProgrammed", false, "PolicyNotEnforced")
	assert.Contains(t, msg, "spec.rateLimit (EnvoyFilter istio-system/"+ns+".shop exists and is not controlled by this ExposedAPI")
	assert.Contains(t, msg, "require the Authorization bearer token", "the token checks go on, and name the location as Istio reads it")
	authorizationPolicy(t, env, ns+".shop", denyWithoutToken(nil, "/shop*"))
	require.NoError(t, env.Client.Get(ctx, client.ObjectKeyFromObject(foreign), foreign))
	assert.Empty(t, foreign.Labels, "the foreign EnvoyFilter is left as it was")
	msg = waitCondition(t, env, api, "Programmed", false, "RouteGuardsUnwritten")
	assert.Contains(t, msg, "EnvoyFilter istio-system/"+ns+".shop exists", "a new route waits for its rate limit")
	err := env.Client.Get(ctx, client.ObjectKeyFromObject(api), &networkingv1VirtualService{})
	require.True(t, apierrors.IsNotFound(err), "no route while its rate limit is another's: %v", err)

	// The reconciles that follow the status write pass first, so that only the recheck can
	// see the deletion.
	time.Sleep(3 * time.Second)
	require.NoError(t, env.Client.Delete(ctx, foreign))
	waitCondition(t, env, api, "PoliciesProgrammed", true, "PoliciesEnforced")
	ours := &networkingv1alpha3.EnvoyFilter{}
	require.NoError(t, env.Client.Get(ctx, client.ObjectKeyFromObject(foreign), ours))
	assert.Equal(t, api.Name, ours.Labels["oda.tmforum.org/exposedapi-name"], "the API's own EnvoyFilter took its place")
	waitCondition(t, env, api, "Ready", true, "Ready")
}

// TestTokenChecksGoWhileTheGatewayNamespaceIsUnknown: without --ingress-gateway-namespace
// the token checks go where the one istio=ingressgateway Service is. Once a second one
// appears (a canary gateway) that namespace is no longer known, and the API says so; the
// checks already written stay in force, and deleting the API still removes them.
func TestTokenChecksGoWhileTheGatewayNamespaceIsUnknown(t *testing.T) {
	ctx := context.Background()
	env, ns, api := tokenCheckedShop(t)
	waitCondition(t, env, api, "PoliciesProgrammed", true, "PoliciesEnforced")

	env.GatewayIn(t, "istio-ingress-canary", "20.0.0.2", "")
	waitConditionSays(t, env, api, "PoliciesProgrammed", "the ingress gateway's namespace is not known")

	require.NoError(t, env.Client.Delete(ctx, api))
	harness.Eventually(t, "the API gone", func() error {
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(api), &odav1.ExposedAPI{}); !isNotFound(err) {
			return fmt.Errorf("still there (%v)", err)
		}
		return nil
	})
	key := client.ObjectKey{Namespace: "istio-system", Name: ns + ".shop"}
	ap, ra := &securityv1.AuthorizationPolicy{}, &securityv1.RequestAuthentication{}
	apErr, raErr := env.Client.Get(ctx, key, ap), env.Client.Get(ctx, key, ra)
	assert.True(t, isNotFound(apErr), "the deleted API's DENY AuthorizationPolicy is left in force on the gateway: %v", ap.Spec.String())
	assert.True(t, isNotFound(raErr), "the deleted API's RequestAuthentication is left on the gateway")
}

// TestTokenChecksFollowTheGatewayService: when the one istio=ingressgateway Service moves
// to another namespace, the token checks are written there and go from where they were,
// where they would still apply to any gateway pods left behind.
func TestTokenChecksFollowTheGatewayService(t *testing.T) {
	ctx := context.Background()
	env, ns, api := tokenCheckedShop(t)

	old := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "istio-system", Name: "istio-ingressgateway"}}
	require.NoError(t, env.Client.Delete(ctx, old))
	env.GatewayIn(t, "istio-ingress", "20.0.0.2", "")
	moved := client.ObjectKey{Namespace: "istio-ingress", Name: ns + ".shop"}
	istioObject(t, env, &securityv1.AuthorizationPolicy{}, moved,
		func(o *securityv1.AuthorizationPolicy) *securityapi.AuthorizationPolicy { return &o.Spec }, denyWithoutToken(nil, "/shop*"))
	authorizationPolicy(t, env, ns+".shop", nil)
	requestAuthentication(t, env, ns+".shop", nil)
	waitCondition(t, env, api, "PoliciesProgrammed", true, "PoliciesEnforced")
}

// tokenCheckedShop starts the operator with a JWT issuer (no gateway namespace configured)
// and makes an API with apiKeyVerification, returned once its checks are on the gateway.
func tokenCheckedShop(t *testing.T) (*harness.Env, string, *odav1.ExposedAPI) {
	env, ns := startWithImplAnd(t, harness.Generated, func(o *app.Options) { o.JWTIssuer = issuer })
	api := harness.API(ns, "shop", "/shop", "impl", 8080)
	api.Spec.APIKeyVerification = &odav1.APIKeyVerification{Enabled: ptr.To(true)}
	require.NoError(t, env.Client.Create(context.Background(), api))
	authorizationPolicy(t, env, ns+".shop", denyWithoutToken(nil, "/shop*"))
	return env, ns, api
}
