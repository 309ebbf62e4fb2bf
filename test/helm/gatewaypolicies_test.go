package helm

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	networkingv1alpha3 "istio.io/client-go/pkg/apis/networking/v1alpha3"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/internal/app"
	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// TestOneGatewayPolicyAlone: with only token checks, or only local rate limits, configured
// (so the chart grants the kinds of that one alone), an API that asks for it gets its
// object on the gateway and is Ready. After an upgrade that turns the setting off (and
// with it the grant), the API can still be deleted: the operator no longer touches that
// kind, and the object is left in place for an admin to remove, as the README says.
func TestOneGatewayPolicyAlone(t *testing.T) {
	for name, c := range map[string]struct {
		set  string
		on   func(*app.Options)
		spec func(*odav1.ExposedAPISpec)
		kind client.Object
	}{
		"token checks": {"apiKeyVerification.jwtIssuer=" + jwtIssuer, func(o *app.Options) { o.JWTIssuer = jwtIssuer },
			func(s *odav1.ExposedAPISpec) {
				s.APIKeyVerification = &odav1.APIKeyVerification{Enabled: ptr.To(true), Location: "X-API-Key"}
			}, &securityv1.RequestAuthentication{}},
		"rate limit": {"rateLimitMode=local", func(o *app.Options) { o.RateLimitMode = "local" },
			func(s *odav1.ExposedAPISpec) { s.RateLimit = &odav1.RateLimit{Enabled: ptr.To(true), Limit: "10"} },
			&networkingv1alpha3.EnvoyFilter{}},
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			env := harness.Start(t, harness.Generated)
			for _, n := range []string{releaseNS, ns} {
				env.Namespace(t, n)
			}
			env.Gateway(t, "20.0.0.1", "")
			env.Implementation(t, ns, "impl", 8080, true)
			cfg := rest.CopyConfig(env.Config)
			cfg.Impersonate = rest.ImpersonationConfig{UserName: chartSA}

			rbac := applyChartRBAC(t, env, c.set)
			o := policyOptions()
			c.on(o)
			op := harness.StartOperatorAs(t, env, cfg, o)
			api := harness.API(ns, "secured", "/secured", "impl", 8080)
			c.spec(&api.Spec)
			require.NoError(t, env.Client.Create(ctx, api))
			env.WaitAPI(t, api, "Ready", func(got *odav1.ExposedAPI) error {
				if !meta.IsStatusConditionTrue(got.Status.Conditions, "Ready") {
					return fmt.Errorf("conditions %+v", got.Status.Conditions)
				}
				return nil
			})
			onGateway := c.kind.DeepCopyObject().(client.Object)
			require.NoError(t, env.Client.Get(ctx, client.ObjectKey{Namespace: "istio-system", Name: ns + ".secured"}, onGateway))
			op.Stop()

			for _, obj := range rbac {
				require.NoError(t, env.Client.Delete(ctx, obj))
			}
			applyChartRBAC(t, env)
			harness.StartOperatorAs(t, env, cfg, policyOptions())
			require.NoError(t, env.Client.Delete(ctx, api))
			harness.Eventually(t, "the API deleted", func() error {
				if err := env.Client.Get(ctx, client.ObjectKeyFromObject(api), &odav1.ExposedAPI{}); !apierrors.IsNotFound(err) {
					return fmt.Errorf("still there (err %v)", err)
				}
				return nil
			})
			require.NoError(t, env.Client.Get(ctx, client.ObjectKeyFromObject(onGateway), onGateway), "left in place")
		})
	}
}

// applyChartRBAC creates the ServiceAccount and RBAC the chart renders with sets, for the
// components namespace and the gateway in istio-system, and returns them.
func applyChartRBAC(t *testing.T, env *harness.Env, sets ...string) []*unstructured.Unstructured {
	t.Helper()
	sets = append([]string{"certManager.enabled=false", "watchNamespaces={" + ns + "}", "ingressGateway.namespace=istio-system"}, sets...)
	var out []*unstructured.Unstructured
	for _, obj := range render(t, sets...) {
		switch obj.GetKind() {
		case "ServiceAccount", "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding":
			require.NoError(t, env.Client.Create(context.Background(), obj), "%s %s", obj.GetKind(), obj.GetName())
			out = append(out, obj)
		}
	}
	return out
}

func policyOptions() *app.Options {
	o := harness.DefaultOptions()
	o.Namespaces, o.IngressGatewayNamespace = []string{ns}, "istio-system"
	return o
}
