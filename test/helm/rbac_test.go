package helm

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	istioapi "istio.io/api/networking/v1alpha3"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/yaml"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/internal/app"
	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// unexercised are grants the scenario below does not reach, each with the reason it is
// still needed. Anything else granted and unused fails the test.
var unexercised = map[harness.Access]string{
	{Group: "", Resource: "secrets", Verb: "update"}:                             "the self-managed CA is rewritten only when it nears expiry",
	{Group: "oda.tmforum.org", Resource: "components", Verb: "patch"}:            "Component status is patched through the object where the CRD has no status subresource (the ODA Canvas CRD)",
	{Group: "oda.tmforum.org", Resource: "exposedapis", Verb: "patch"}:           "status through the object without a status subresource; finalizers",
	{Group: "events.k8s.io", Resource: "events", Verb: "patch"}:                  "a repeated event is patched into the series",
	{Group: "oda.tmforum.org", Resource: "components", Verb: "get"}:              "a Component is read afresh after a write conflict with another operator",
	{Group: "networking.istio.io", Resource: "virtualservices", Verb: "get"}:     "a VirtualService outside our cache (a name collision, or one the Python operator made) is read directly",
	{Group: "", Resource: "events", Verb: "patch"}:                               "a repeated leader election event is patched",
	{Group: "gateway.networking.k8s.io", Resource: "httproutes", Verb: "delete"}: "in VirtualService mode, only to remove the HTTPRoutes a former HTTPRoute mode left",
	{Group: "gateway.networking.k8s.io", Resource: "httproutes", Verb: "get"}:    "an HTTPRoute outside our cache (a name collision) is read directly",
	{Group: "networking.istio.io", Resource: "destinationrules", Verb: "get"}:    "a DestinationRule outside our cache (a name collision) is read directly",
}

// checkedByAdmission are grants the API server checks on another request than their own:
// with OwnerReferencesPermissionEnforcement (on in this test's API server), creating an
// object whose controller reference blocks its ExposedAPI's deletion needs update on the
// ExposedAPI's finalizers.
var checkedByAdmission = map[harness.Access]harness.Access{
	{Group: "networking.istio.io", Resource: "virtualservices", Verb: "create"}:   ownerFinalizers,
	{Group: "monitoring.coreos.com", Resource: "servicemonitors", Verb: "create"}: ownerFinalizers,
	{Group: "networking.istio.io", Resource: "destinationrules", Verb: "create"}:  ownerFinalizers,
	{Group: "gateway.networking.k8s.io", Resource: "httproutes", Verb: "create"}:  ownerFinalizers,
}

var ownerFinalizers = harness.Access{Group: "oda.tmforum.org", Resource: "exposedapis/finalizers", Verb: "update"}

const jwtIssuer = "https://idp.example.com/realms/canvas"

const chartSA = "system:serviceaccount:" + releaseNS + ":canvas-api-operator-istio"

// TestChartRBACIsWhatTheOperatorUses runs the operator as the chart's ServiceAccount, bound
// only by the chart's rendered RBAC, through routes, conflicts, status, the parent
// Component, both metrics patterns and self-managed webhook certificates; then compares
// what it used with what the chart grants, both ways (no grant unused, no request
// refused). The API server enforces owner references, as
// OpenShift does. Namespaces given by name get a Role each; a pattern (the canvas's
// odacompns-*) a ClusterRole. Both route APIs are proved; the Gateway API CRDs are
// installed in both, as on a cluster that switched.
func TestChartRBACIsWhatTheOperatorUses(t *testing.T) {
	for name, c := range map[string]struct {
		namespaces []string
		routeAPI   string
		internal   string
	}{
		"names":           {[]string{"components"}, app.VirtualService, ""},
		"patterns":        {[]string{"components", "odacompns-*"}, app.VirtualService, ""},
		"names-httproute": {[]string{"components"}, app.HTTPRoute, ""},
		// Internal APIs keep their mesh VirtualService in HTTPRoute mode.
		"names-httproute-internal": {[]string{"components"}, app.HTTPRoute, odav1.SegmentManagement},
	} {
		t.Run(name, func(t *testing.T) { rbacProof(t, c.namespaces, c.routeAPI, c.internal) })
	}
}

func rbacProof(t *testing.T, namespaces []string, routeAPI, internal string) {
	env := harness.StartEnforcingOwnerReferences(t, harness.Generated, append(harness.GatewayAPICRDs(t), harness.ServiceMonitorCRD(t))...)
	for _, ns := range []string{releaseNS, "components", "istio-system"} {
		env.Namespace(t, ns)
	}
	sets := []string{"certManager.enabled=false", "watchNamespaces={" + strings.Join(namespaces, ",") + "}", "ingressGateway.namespace=istio-system",
		"webhook.failurePolicy=Ignore", "apiKeyVerification.jwtIssuer=" + jwtIssuer, "rateLimitMode=local", "routeAPI=" + routeAPI}
	if internal != "" {
		sets = append(sets, "internalSegments={"+internal+"}")
	}
	// The grants follow the metrics pattern: each run gets its own.
	granted := applyRBAC(t, env, render(t, append(sets, "openmetricsImplementation="+app.ServiceMonitor)...))

	cfg := rest.CopyConfig(env.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: chartSA}
	used := map[harness.Access]bool{}
	s := newScenario(t, env, routeAPI)
	s.internal = internal
	assertMayOwn(t, env, cfg, routeAPI)
	var forbidden []string
	for _, pattern := range []string{app.ServiceMonitor, app.PrometheusAnnotation} {
		if pattern != app.ServiceMonitor {
			maps.Copy(granted, replaceRoles(t, env, render(t, append(sets, "openmetricsImplementation="+pattern)...)))
		}
		o := operatorOptions(t, pattern)
		o.Namespaces, o.RouteAPI = namespaces, routeAPI
		if internal != "" {
			o.InternalSegments = []string{internal}
		}
		op := harness.StartOperatorAs(t, env, cfg, o)
		s.run(pattern)
		op.Stop()
		forbidden = append(forbidden, op.Requests().Forbidden()...)
		for _, r := range op.Requests().All() {
			if a, ok := harness.AccessOf(r); ok {
				used[a] = true
				if checked, ok := checkedByAdmission[a]; ok {
					used[checked] = true
				}
			}
		}
	}
	assertBundleInjected(t, env)

	var unused []string
	for a := range granted {
		if !used[a] && unexercised[a] == "" {
			unused = append(unused, fmt.Sprint(a))
		}
	}
	sort.Strings(unused)
	assert.Empty(t, unused, "the chart grants what the operator never used")
	// The other way round: a request the chart does not grant fails with 403 even where
	// no outcome of the scenario waits on it (an Event, a best-effort cleanup).
	assert.Empty(t, forbidden, "the operator was refused what the chart should grant")
	assertMarkersCover(t, granted)
}

// assertMayOwn: the chart's ServiceAccount may create what the operator creates with an
// ExposedAPI as its controller (blockOwnerDeletion set), on an API server that enforces it.
func assertMayOwn(t *testing.T, env *harness.Env, cfg *rest.Config, routeAPI string) {
	t.Helper()
	ctx := context.Background()
	sa, err := client.New(cfg, client.Options{Scheme: app.Scheme()})
	require.NoError(t, err)
	owner := harness.API(ns, "owner", "/owner", "impl", 8080)
	require.NoError(t, env.Client.Create(ctx, owner))
	var route client.Object = &networkingv1.VirtualService{}
	if routeAPI == app.HTTPRoute {
		route = &gatewayv1.HTTPRoute{}
	}
	for _, obj := range []client.Object{route, &networkingv1.DestinationRule{Spec: istioapi.DestinationRule{Host: "impl"}}, &monitoringv1.ServiceMonitor{Spec: monitoringv1.ServiceMonitorSpec{Endpoints: []monitoringv1.Endpoint{{Port: "metrics"}}}}} {
		obj.SetNamespace(ns)
		obj.SetName("owned")
		require.NoError(t, controllerutil.SetControllerReference(owner, obj, app.Scheme()))
		require.NoError(t, sa.Create(ctx, obj), "%T with a blocking controller reference", obj)
		require.NoError(t, sa.Delete(ctx, obj))
	}
	require.NoError(t, env.Client.Delete(ctx, owner))
}

func operatorOptions(t *testing.T, pattern string) *app.Options {
	o := harness.DefaultOptions()
	o.OpenMetricsImplementation = pattern
	o.JWTIssuer, o.RateLimitMode = jwtIssuer, "local"
	o.Namespaces, o.IngressGatewayNamespace = []string{"components"}, "istio-system"
	o.LeaderElect, o.LeaderElectionNamespace = true, releaseNS
	o.EnableWebhooks, o.WebhookHost, o.WebhookPort, o.WebhookCertDir = true, "127.0.0.1", harness.FreePort(t), t.TempDir()
	o.WebhookServiceName, o.WebhookNamespace, o.CASecretName = "canvas-api-operator-istio-webhook", releaseNS, "canvas-api-operator-istio-ca"
	o.MutatingWebhookName, o.ValidatingWebhookName = "canvas-api-operator-istio", "canvas-api-operator-istio"
	o.ComponentGateway = releaseNS + "/component-gateway" // the chart's default
	return o
}

// applyRBAC creates the rendered ServiceAccount, RBAC and webhook configurations, and returns
// what the rules grant; no rule may hold a wildcard.
func applyRBAC(t *testing.T, env *harness.Env, objs []*unstructured.Unstructured) map[harness.Access]bool {
	t.Helper()
	granted := map[harness.Access]bool{}
	for _, obj := range objs {
		switch obj.GetKind() {
		case "ServiceAccount", "RoleBinding", "ClusterRoleBinding", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration":
		case "Role", "ClusterRole":
			for _, a := range rulesOf(t, obj) {
				granted[a] = true
			}
		default:
			continue
		}
		require.NoError(t, env.Client.Create(context.Background(), obj), "%s %s", obj.GetKind(), obj.GetName())
	}
	require.NotEmpty(t, granted)
	return granted
}

// replaceRoles gives the Roles and ClusterRoles that applyRBAC made the rules of objs, and
// returns what they grant.
func replaceRoles(t *testing.T, env *harness.Env, objs []*unstructured.Unstructured) map[harness.Access]bool {
	t.Helper()
	granted := map[harness.Access]bool{}
	for _, obj := range objs {
		if obj.GetKind() != "Role" && obj.GetKind() != "ClusterRole" {
			continue
		}
		for _, a := range rulesOf(t, obj) {
			granted[a] = true
		}
		old := &unstructured.Unstructured{}
		old.SetGroupVersionKind(obj.GroupVersionKind())
		require.NoError(t, env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), old))
		obj.SetResourceVersion(old.GetResourceVersion())
		require.NoError(t, env.Client.Update(context.Background(), obj), "%s %s", obj.GetKind(), obj.GetName())
	}
	return granted
}

func rulesOf(t *testing.T, obj *unstructured.Unstructured) []harness.Access {
	t.Helper()
	role := &rbacv1.ClusterRole{}
	require.NoError(t, runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, role))
	var out []harness.Access
	for _, r := range role.Rules {
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				for _, v := range r.Verbs {
					require.NotContains(t, []string{g, res, v}, "*", "wildcard in %s %s", obj.GetKind(), obj.GetName())
					out = append(out, harness.Access{Group: g, Resource: res, Verb: v})
				}
			}
		}
	}
	return out
}

// assertMarkersCover: the chart grants nothing that the kubebuilder markers
// (config/rbac/role.yaml) do not list.
func assertMarkersCover(t *testing.T, granted map[harness.Access]bool) {
	t.Helper()
	raw := readFile(t, filepath.Join(harness.RepoRoot(t), "config", "rbac", "role.yaml"))
	u := &unstructured.Unstructured{}
	require.NoError(t, yaml.Unmarshal(raw, &u.Object))
	markers := map[harness.Access]bool{}
	for _, a := range rulesOf(t, u) {
		markers[a] = true
	}
	for a := range granted {
		assert.True(t, markers[a], "%v is granted by the chart but no kubebuilder marker asks for it", a)
	}
}

func assertBundleInjected(t *testing.T, env *harness.Env) {
	t.Helper()
	v := &admissionregistrationv1.ValidatingWebhookConfiguration{}
	require.NoError(t, env.Client.Get(context.Background(), client.ObjectKey{Name: "canvas-api-operator-istio"}, v))
	assert.NotEmpty(t, v.Webhooks[0].ClientConfig.CABundle, "the self-managed CA bundle was written")
}
