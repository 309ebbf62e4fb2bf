package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	admissionv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/internal/app"
	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// refusal is the message of the test's admission policies (refuse).
const refusal = "the test's policy refuses this write"

// TestRouteRefusedByTheAPIServer: a route write the API server refuses (here an admission
// policy; as well a webhook, a quota or the route CRD's schema) is reported on the API, with
// the server's message and a Warning Event, rather than retried in silence; other APIs go
// on; the write is tried again without the API changing, and a refused update leaves the
// route as it was.
func TestRouteRefusedByTheAPIServer(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		ctx := context.Background()
		env, ns := startWithImplAnd(t, set, func(o *app.Options) { o.RefusedRetry = 2 * time.Second })
		refuseRoutes(t, env, ns)

		api := harness.API(ns, "refused", "/refused", "impl", 8080)
		require.NoError(t, env.Client.Create(ctx, api))
		msg := waitCondition(t, env, api, "Programmed", false, "RouteRefused")
		assert.Contains(t, msg, refusal)
		assert.Contains(t, msg, "VirtualService refused")
		waitCondition(t, env, api, "Accepted", true, "Valid")
		waitCondition(t, env, api, "Ready", false, "NotProgrammed")
		assertEvent(t, env, ns, "refused", "RouteRefused")
		assert.Nil(t, getAPI(t, env, api).Status.APIStatus, "no route, so no URL")

		other := harness.API(ns, "fine", "/fine", "impl", 8080)
		require.NoError(t, env.Client.Create(ctx, other))
		waitCondition(t, env, other, "Ready", true, "Ready")

		// The policy goes; nothing about the API changes, and its route follows.
		allowRoutes(t, env)
		waitCondition(t, env, api, "Ready", true, "Ready")
		virtualService(t, env, api, routeIs("*", "component-gateway", "/refused", "impl", 8080))

		// A refused update keeps the route and the URL it had.
		refuseRoutes(t, env, ns)
		setPath(t, env, api, "/moved")
		waitCondition(t, env, api, "Programmed", false, "RouteRefused")
		assert.Equal(t, "https://20.0.0.1/refused", getAPI(t, env, api).Status.APIStatus.URL)
		virtualService(t, env, api, routeIs("*", "component-gateway", "/refused", "impl", 8080))
	})
}

// TestRouteWriteFailing: a route write that fails on the API server's side (here, as when
// istiod is down, a webhook on VirtualServices that cannot be called, under failurePolicy
// Fail) is reported on the API with the server's message and a Warning Event, the status is
// not written again at each retry, and the route follows once the webhook is back.
func TestRouteWriteFailing(t *testing.T) {
	ctx := context.Background()
	env, ns := startWithImplAnd(t, harness.Generated, nil)
	unreachable := unreachableRouteWebhook(t, env, ns)

	api := harness.API(ns, "failing", "/failing", "impl", 8080)
	require.NoError(t, env.Client.Create(ctx, api))
	msg := waitCondition(t, env, api, "Programmed", false, "RouteWriteFailed")
	assert.Contains(t, msg, "failed calling webhook")
	assert.Contains(t, msg, "writing VirtualService failing failed")
	waitCondition(t, env, api, "Ready", false, "NotProgrammed")
	assertEvent(t, env, ns, "failing", "RouteWriteFailed")

	written := getAPI(t, env, api).ResourceVersion
	time.Sleep(3 * time.Second) // several retries, backing off
	assert.Equal(t, written, getAPI(t, env, api).ResourceVersion, "the same failure is not written again")

	require.NoError(t, env.Client.Delete(ctx, unreachable))
	waitCondition(t, env, api, "Ready", true, "Ready")
	virtualService(t, env, api, routeIs("*", "component-gateway", "/failing", "impl", 8080))
}

// unreachableRouteWebhook registers, for the VirtualServices of ns, a validating webhook
// nothing answers, under failurePolicy Fail.
func unreachableRouteWebhook(t *testing.T, env *harness.Env, ns string) *admissionv1.ValidatingWebhookConfiguration {
	t.Helper()
	none := admissionv1.SideEffectClassNone
	w := &admissionv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "unreachable-" + ns},
		Webhooks: []admissionv1.ValidatingWebhook{{
			Name: "routes.unreachable.example", AdmissionReviewVersions: []string{"v1"}, SideEffects: &none,
			FailurePolicy: ptr.To(admissionv1.Fail), TimeoutSeconds: ptr.To[int32](2),
			ClientConfig: admissionv1.WebhookClientConfig{URL: ptr.To("https://127.0.0.1:1/validate")},
			Rules: []admissionv1.RuleWithOperations{{
				Operations: []admissionv1.OperationType{admissionv1.Create, admissionv1.Update},
				Rule:       admissionv1.Rule{APIGroups: []string{"networking.istio.io"}, APIVersions: []string{"*"}, Resources: []string{"virtualservices"}},
			}},
			NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": ns}},
		}},
	}
	require.NoError(t, env.Client.Create(context.Background(), w))
	harness.Eventually(t, "the webhook in force", func() error {
		probe := &networkingv1VirtualService{}
		probe.Namespace, probe.Name = ns, "probe"
		if err := env.Client.Create(context.Background(), probe, client.DryRunAll); err == nil || !strings.Contains(err.Error(), "failed calling webhook") {
			return fmt.Errorf("a VirtualService: %v", err)
		}
		return nil
	})
	return w
}

// refuseRoutes puts in force an admission policy that refuses every write of a
// VirtualService named refused* in ns.
func refuseRoutes(t *testing.T, env *harness.Env, ns string) {
	t.Helper()
	probe := &networkingv1VirtualService{}
	probe.Namespace, probe.Name = ns, "refused-probe"
	refuse(t, env, "refuse-routes", admissionv1.Rule{APIGroups: []string{"networking.istio.io"}, APIVersions: []string{"*"}, Resources: []string{"virtualservices"}},
		"!object.metadata.name.startsWith('refused')", probe)
}

// allowRoutes removes refuseRoutes' policy.
func allowRoutes(t *testing.T, env *harness.Env) { allow(t, env, "refuse-routes") }

// refuse puts in force admission policy name, which refuses the creates and updates of the
// objects of rule in probe's namespace for which expression is false; probe is one, tried
// with a dry run until the policy refuses it with the message refusal.
func refuse(t *testing.T, env *harness.Env, name string, rule admissionv1.Rule, expression string, probe client.Object) {
	t.Helper()
	ctx := context.Background()
	enforce(t, env, name, []admissionv1.OperationType{admissionv1.Create, admissionv1.Update}, rule, expression, probe.GetNamespace())
	harness.Eventually(t, "the policy in force", func() error {
		if err := env.Client.Create(ctx, probe, client.DryRunAll); err == nil || !strings.Contains(err.Error(), refusal) {
			return fmt.Errorf("%T %s: %v", probe, probe.GetName(), err)
		}
		return nil
	})
}

// enforce has the API server refuse the operations ops on rule's objects in namespace
// unless expression holds, with a ValidatingAdmissionPolicy and its binding named name.
func enforce(t *testing.T, env *harness.Env, name string, ops []admissionv1.OperationType, rule admissionv1.Rule, expression, namespace string) {
	t.Helper()
	ctx := context.Background()
	policy := &admissionv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: ptr.To(admissionv1.Fail),
			MatchConstraints: &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{{
				RuleWithOperations: admissionv1.RuleWithOperations{Operations: ops, Rule: rule},
			}}},
			Validations: []admissionv1.Validation{{Expression: expression, Message: refusal}},
		},
	}
	binding := &admissionv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName: policy.Name, ValidationActions: []admissionv1.ValidationAction{admissionv1.Deny},
			MatchResources: &admissionv1.MatchResources{NamespaceSelector: &metav1.LabelSelector{
				MatchLabels: map[string]string{"kubernetes.io/metadata.name": namespace}}},
		},
	}
	require.NoError(t, env.Client.Create(ctx, policy))
	require.NoError(t, env.Client.Create(ctx, binding))
}

// allow removes refuse's policy name.
func allow(t *testing.T, env *harness.Env, name string) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, env.Client.Delete(ctx, &admissionv1.ValidatingAdmissionPolicyBinding{ObjectMeta: metav1.ObjectMeta{Name: name}}))
	require.NoError(t, env.Client.Delete(ctx, &admissionv1.ValidatingAdmissionPolicy{ObjectMeta: metav1.ObjectMeta{Name: name}}))
}

func getAPI(t *testing.T, env *harness.Env, api *odav1.ExposedAPI) *odav1.ExposedAPI {
	t.Helper()
	got := &odav1.ExposedAPI{}
	require.NoError(t, env.Client.Get(context.Background(), client.ObjectKeyFromObject(api), got))
	return got
}

// TestScrapingGoesOnWhileRouteRefused: scraping does not depend on the route, so an API
// whose route write the API server refuses still gets the metrics pattern's work done. The
// Uninstalling drain (a switch from PrometheusAnnotation to ServiceMonitor) takes such an
// API's annotations and metrics finalizer off as any other's, and its Scraping condition
// tells of the new pattern, while Programmed still says the route is refused.
func TestScrapingGoesOnWhileRouteRefused(t *testing.T) {
	ctx := context.Background()
	env := harness.Start(t, harness.Generated, harness.ServiceMonitorCRD(t))
	ns := env.Namespace(t, "components")
	env.Gateway(t, "20.0.0.1", "")
	env.Service(t, ns, "shop-metrics", map[string]string{"app": "shop"})
	env.Pod(t, ns, "p1", map[string]string{"app": "shop"})
	api := metricsAPI(ns, "refused-metrics", "/metrics", "shop-metrics", 9090)
	require.NoError(t, env.Client.Create(ctx, api))

	o := harness.DefaultOptions()
	o.OpenMetricsImplementation = app.PrometheusAnnotation
	op := harness.StartOperator(t, env, o)
	waitScraped(t, env, ns, "p1", map[string]string{"prometheus.io/scrape": "true", "prometheus.io/path": "/metrics",
		"prometheus.io/port": "9090"})
	virtualService(t, env, api, routeIs("*", "component-gateway", "/metrics", "shop-metrics", 9090))
	op.Stop()

	refuseRoutes(t, env, ns)
	setPath(t, env, api, "/moved")
	harness.StartOperator(t, env, harness.DefaultOptions())
	waitCondition(t, env, api, "Programmed", false, "RouteRefused")
	waitCondition(t, env, api, "Scraping", true, "ServiceMonitorProgrammed")
	waitServiceMonitor(t, env, api, "/moved", 9090)
	waitAnnotations(t, env, ns, "p1", nil)
	harness.Eventually(t, "metrics finalizer removed", func() error {
		if f := getAPI(t, env, api).Finalizers; len(f) > 0 {
			return fmt.Errorf("finalizers %v", f)
		}
		return nil
	})
	waitCondition(t, env, api, "Programmed", false, "RouteRefused")
}
