// Package helm tests the chart: lint, renderings, their acceptance by a real API server,
// the values schema, and that its RBAC is exactly what the operator needs.
package helm

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/oda-canvas/api-operator-istio/test/harness"
)

const release, releaseNS = "canvas", "oda-operators"

func helm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	bin := filepath.Join(harness.RepoRoot(t), "bin", "helm")
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("no helm in bin/: run 'make helm' (make test does): %v", err)
	}
	var out, errOut bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if err != nil {
		return errOut.String(), err
	}
	return out.String(), nil
}

func chartDir(t *testing.T) string {
	return filepath.Join(harness.RepoRoot(t), "charts", "api-operator-istio")
}

// render runs helm template with the --set values and returns the objects.
func render(t *testing.T, sets ...string) []*unstructured.Unstructured {
	t.Helper()
	return renderDir(t, chartDir(t), setArgs(sets)...)
}

// renderDir runs helm template of the chart in dir with args and returns the objects.
func renderDir(t *testing.T, dir string, args ...string) []*unstructured.Unstructured {
	t.Helper()
	return renderRelease(t, release, dir, args...)
}

// clusterAPIs are the API versions helm template is told the cluster serves beyond the
// built-in ones (helm template has no cluster to ask): cert-manager's, as on the control
// plane of TestRenderingsApply and TestHelmInstall, so that certManager.enabled=auto, the
// default, renders what an install next to cert-manager gets. TestCertManagerAuto renders
// without them too.
var clusterAPIs = []string{"--api-versions", "cert-manager.io/v1"}

// renderRelease is renderDir for a release of another name.
func renderRelease(t *testing.T, name, dir string, args ...string) []*unstructured.Unstructured {
	t.Helper()
	return renderOn(t, clusterAPIs, name, dir, args...)
}

// renderOn is renderRelease on a cluster that serves apis (helm template's --api-versions
// arguments) beyond the built-in API versions.
func renderOn(t *testing.T, apis []string, name, dir string, args ...string) []*unstructured.Unstructured {
	t.Helper()
	out, err := helm(t, append(append([]string{"template", name, dir, "--namespace", releaseNS}, apis...), args...)...)
	require.NoError(t, err, out)
	var objs []*unstructured.Unstructured
	for _, doc := range strings.Split(out, "\n---") {
		js, err := yaml.YAMLToJSON([]byte(doc))
		require.NoError(t, err)
		u := &unstructured.Unstructured{}
		if u.UnmarshalJSON(js) == nil && u.GetKind() != "" {
			objs = append(objs, u)
		}
	}
	require.NotEmpty(t, objs)
	return objs
}

var valueSets = map[string][]string{
	"defaults":          nil,
	"cert-manager-off":  {"certManager.enabled=false"},
	"namespaced":        {"watchNamespaces={components,team-b}", "ingressGateway.namespace=istio-system"},
	"custom-issuer":     {"certManager.issuerRef.name=corporate-ca", "certManager.issuerRef.kind=ClusterIssuer"},
	"all-namespaces-ig": {"ingressGateway.namespace=", "crds.install=true", "openmetricsImplementation=DataDogAnnotation"},
	"httproute":         {"routeAPI=HTTPRoute", "watchNamespaces={components,team-b}"},
	"httproute-bare-gw": {"routeAPI=HTTPRoute", "componentGateway=component-gateway"},
	"flow-control":      {"flowControl.enabled=true", "flowControl.nominalConcurrencyShares=3"},
	"pod-monitor":       {"metrics.podMonitor.enabled=true", "metrics.podMonitor.labels.release=kps", "metrics.podMonitor.interval=1m30s"},
	"secure-metrics":    append(secureMetrics, "certManager.enabled=false"),
}

func TestLint(t *testing.T) {
	out, err := helm(t, "lint", "--strict", chartDir(t))
	require.NoError(t, err, out)
}

// TestRenderingsApply: every object of every rendering passes a server-side dry-run apply
// on a control plane with our CRDs and cert-manager's.
func TestRenderingsApply(t *testing.T) {
	certManagerCRDs := filepath.Join(harness.ModuleDir(t, "github.com/cert-manager/cert-manager"), "deploy", "crds")
	env := harness.Start(t, harness.Generated, certManagerCRDs, harness.PodMonitorCRD(t))
	for _, ns := range []string{releaseNS, "components", "team-b", "istio-system"} {
		env.Namespace(t, ns)
	}
	for name, sets := range valueSets {
		t.Run(name, func(t *testing.T) {
			kinds := map[string]int{}
			for _, obj := range render(t, sets...) {
				kinds[obj.GetKind()]++
				err := env.Client.Apply(context.Background(), client.ApplyConfigurationFromUnstructured(obj), client.DryRunAll, client.ForceOwnership, client.FieldOwner("chart-test"))
				assert.NoError(t, err, "%s %s", obj.GetKind(), obj.GetName())
			}
			assert.Equal(t, 1, kinds["Deployment"])
			assert.Equal(t, 1, kinds["MutatingWebhookConfiguration"])
			assert.Equal(t, 1, kinds["ValidatingWebhookConfiguration"])
		})
	}
}

func TestDeploymentHardening(t *testing.T) {
	for _, obj := range render(t) {
		if obj.GetKind() != "Deployment" {
			continue
		}
		replicas, _, _ := unstructured.NestedInt64(obj.Object, "spec", "replicas")
		assert.Equal(t, int64(2), replicas)
		pod, _, _ := unstructured.NestedMap(obj.Object, "spec", "template", "spec")
		assert.Equal(t, true, pod["securityContext"].(map[string]any)["runAsNonRoot"])
		assert.Equal(t, map[string]any{"type": "RuntimeDefault"}, pod["securityContext"].(map[string]any)["seccompProfile"])
		c := pod["containers"].([]any)[0].(map[string]any)
		sc := c["securityContext"].(map[string]any)
		assert.Equal(t, false, sc["allowPrivilegeEscalation"])
		assert.Equal(t, true, sc["readOnlyRootFilesystem"])
		assert.Equal(t, map[string]any{"drop": []any{"ALL"}}, sc["capabilities"])
		assert.Equal(t, "/healthz", c["livenessProbe"].(map[string]any)["httpGet"].(map[string]any)["path"])
		assert.Equal(t, "/readyz", c["readinessProbe"].(map[string]any)["httpGet"].(map[string]any)["path"])
		spread := pod["topologySpreadConstraints"].([]any)[0].(map[string]any)
		assert.Equal(t, "ScheduleAnyway", spread["whenUnsatisfiable"])
		assert.Equal(t, []any{"pod-template-hash"}, spread["matchLabelKeys"], "spread within a revision, not across a rollout's two")
		return
	}
	t.Fatal("no Deployment rendered")
}

// TestCertManagerWiring: by default cert-manager's CA chain (self-signed Issuer, CA
// Certificate keeping its key, CA Issuer) signs the serving certificate and the webhooks
// trust the CA; with
// the user's issuer, that issuer signs it and the webhooks trust what it says is its CA.
func TestCertManagerWiring(t *testing.T) {
	certificates := map[string]*unstructured.Unstructured{}
	issuers := map[string]map[string]any{}
	for _, obj := range render(t) {
		switch obj.GetKind() {
		case "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration":
			assert.Equal(t, releaseNS+"/canvas-api-operator-istio-webhook-ca", obj.GetAnnotations()["cert-manager.io/inject-ca-from"])
		case "Certificate":
			certificates[obj.GetName()] = obj
		case "Issuer":
			issuers[obj.GetName()], _, _ = unstructured.NestedMap(obj.Object, "spec")
		}
	}
	assert.Equal(t, map[string]map[string]any{
		"canvas-api-operator-istio-selfsigned": {"selfSigned": map[string]any{}},
		"canvas-api-operator-istio-webhook-ca": {"ca": map[string]any{"secretName": "canvas-api-operator-istio-webhook-ca"}},
	}, issuers)
	require.Len(t, certificates, 2)
	ca := certificates["canvas-api-operator-istio-webhook-ca"].Object["spec"].(map[string]any)
	assert.Equal(t, true, ca["isCA"])
	assert.Equal(t, "canvas-api-operator-istio-webhook-ca", ca["secretName"])
	assert.Equal(t, "canvas-api-operator-istio-selfsigned", ca["issuerRef"].(map[string]any)["name"])
	// A re-issued CA keeps its key, so the serving certificate it signed still verifies.
	assert.Equal(t, map[string]any{"algorithm": "ECDSA", "size": int64(256), "rotationPolicy": "Never"}, ca["privateKey"])
	serving := certificates["canvas-api-operator-istio-webhook"].Object["spec"].(map[string]any)
	assert.Equal(t, []any{"canvas-api-operator-istio-webhook.oda-operators.svc", "canvas-api-operator-istio-webhook.oda-operators.svc.cluster.local"}, serving["dnsNames"])
	assert.Equal(t, "canvas-api-operator-istio-webhook-ca", serving["issuerRef"].(map[string]any)["name"])

	// Counted, so that a chart that stops rendering one of them fails rather than skips
	// the checks below.
	rendered := map[string]int{}
	for _, obj := range render(t, valueSets["custom-issuer"]...) {
		assert.NotContains(t, []string{"Issuer"}, obj.GetKind(), "the user's issuer only")
		rendered[obj.GetKind()]++
		switch obj.GetKind() {
		case "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration":
			assert.Equal(t, releaseNS+"/canvas-api-operator-istio-webhook", obj.GetAnnotations()["cert-manager.io/inject-ca-from"])
		case "Certificate":
			assert.Equal(t, map[string]any{"name": "corporate-ca", "kind": "ClusterIssuer", "group": "cert-manager.io"}, obj.Object["spec"].(map[string]any)["issuerRef"])
		}
	}
	for _, kind := range []string{"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration", "Certificate"} {
		assert.NotZero(t, rendered[kind], "no %s rendered with a custom issuer", kind)
	}
	for _, obj := range render(t, "certManager.enabled=false") {
		assert.NotContains(t, []string{"Certificate", "Issuer"}, obj.GetKind())
		assert.Empty(t, obj.GetAnnotations()["cert-manager.io/inject-ca-from"])
	}
}

// TestCertManagerAuto: certManager.enabled=auto, the default, renders exactly what false
// renders where the cluster does not serve cert-manager.io/v1 (helm template without it, or
// a first install of the canvas's umbrella chart, which installs cert-manager in the same
// release), and exactly what true renders where it does; true and false render the same
// with or without it. (That a self-managed release stays so is TestFreshCanvasInstall's.)
func TestCertManagerAuto(t *testing.T) {
	certManagerKinds := func(objs []*unstructured.Unstructured) (n int) {
		for _, obj := range objs {
			if obj.GetKind() == "Certificate" || obj.GetKind() == "Issuer" || obj.GetAnnotations()["cert-manager.io/inject-ca-from"] != "" {
				n++
			}
		}
		return n
	}
	for _, c := range []struct {
		name   string
		apis   []string
		sets   []string
		wanted string // the explicit value that renders the same
	}{
		{"auto without cert-manager", nil, nil, "false"},
		{"auto with cert-manager", clusterAPIs, nil, "true"},
		{"auto set without cert-manager", nil, []string{"certManager.enabled=auto"}, "false"},
		{"true without cert-manager", nil, []string{"certManager.enabled=true"}, "true"},
		{"false with cert-manager", clusterAPIs, []string{"certManager.enabled=false"}, "false"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := renderOn(t, c.apis, release, chartDir(t), setArgs(c.sets)...)
			want := renderOn(t, nil, release, chartDir(t), "--set", "certManager.enabled="+c.wanted)
			require.Equal(t, len(want), len(got))
			for i := range want {
				assert.Equal(t, want[i].Object, got[i].Object, "%s %s", want[i].GetKind(), want[i].GetName())
			}
			volumes, _, _ := unstructured.NestedSlice(find(t, got, "Deployment", deployment).Object, "spec", "template", "spec", "volumes")
			if c.wanted == "true" {
				assert.Equal(t, 6, certManagerKinds(got), "2 Issuers, 2 Certificates, 2 injected webhook configurations")
				assert.Equal(t, map[string]any{"secretName": certSecret}, volumes[0].(map[string]any)["secret"])
			} else {
				assert.Zero(t, certManagerKinds(got))
				assert.Equal(t, map[string]any{}, volumes[0].(map[string]any)["emptyDir"], "the operator makes its certificate")
				assert.Contains(t, container(t, got).Args, "--ca-secret-name="+fullname+"-ca")
			}
		})
	}
}

// TestWebhookConfigurationGrants: the operator reads its two webhook configurations in
// either certificate mode (with cert-manager, readiness waits until cainjector has written
// their bundles) and watches and patches them only when it keeps the CA itself.
func TestWebhookConfigurationGrants(t *testing.T) {
	for set, want := range map[string][]string{
		"certManager.enabled=true":  {"get"},
		"certManager.enabled=false": {"get", "list", "watch", "patch"},
	} {
		for _, obj := range render(t, set) {
			if obj.GetKind() == "ClusterRole" && strings.HasSuffix(obj.GetName(), "-cluster") {
				for _, resource := range []string{"mutatingwebhookconfigurations", "validatingwebhookconfigurations"} {
					assert.ElementsMatch(t, want, verbsOf(t, obj, "admissionregistration.k8s.io", resource), "%s %s", set, resource)
				}
			}
		}
	}
}

// TestLogFormatRendering: the chart's logFormat reaches the binary, json unless set.
func TestLogFormatRendering(t *testing.T) {
	for set, want := range map[string]string{"": "json", "logFormat=canvas": "canvas"} {
		var sets []string
		if set != "" {
			sets = append(sets, set)
		}
		deployments := 0
		for _, obj := range render(t, sets...) {
			if obj.GetKind() == "Deployment" {
				deployments++
				assert.Contains(t, fmt.Sprint(obj.Object), "map[name:APIOPERATORISTIO_LOGFORMAT value:"+want+"]", set)
			}
		}
		assert.Equal(t, 1, deployments, set)
	}
}

func TestValuesSchemaRejects(t *testing.T) {
	for _, c := range []struct{ set, want string }{
		{"replicaCount=two", "replicaCount"},
		{"openmetricsImplementation=Graphite", "openmetricsImplementation"},
		{"logLevel=loud", "logLevel"},
		{"logLevel=25", "logLevel"},
		{"internalSegments={managementFunction,metrics}", "internalSegments"},
		{"routeAPI=Ingress", "routeAPI"},
		{"logFormat=text", "logFormat"},
		{"metrics.podMonitor.interval=often", "interval"},
		// The built-in service-accounts FlowSchema (9000) would match the operator first.
		{"flowControl.matchingPrecedence=9000", "matchingPrecedence"},
		{"metrics.secur=true", "'secur' not allowed"},
		{"healthProbe.prot=8082", "'prot' not allowed"},
		{"apiKeyVerification.jwksUri=idp/keys", "jwksUri"},
		{"podDisruptionBudget.minAvailable=one", "minAvailable"},
		{"certManager.enabled=maybe", "certManager/enabled"},
		{"deployment.operatorName=API_Operator", "operatorName"},
	} {
		out, err := helm(t, "template", release, chartDir(t), "--set", c.set)
		require.Error(t, err, c.set)
		assert.Contains(t, out, "values don't meet the specifications of the schema", c.set)
		assert.Contains(t, out, c.want, c.set)
	}
}

// TestValuesThatCannotWorkTogether: values the schema lets through, each valid alone, that
// would render a release that cannot start or cannot be drained fail the install, naming
// them; their neighbours that work still render.
func TestValuesThatCannotWorkTogether(t *testing.T) {
	for _, c := range []struct {
		sets []string
		want string
	}{
		{[]string{"apiKeyVerification.jwtIssuer=https://idp", "apiKeyVerification.authzProvider=ext-authz", "ingressGateway.namespace=istio-ingress"},
			"apiKeyVerification.jwtIssuer and apiKeyVerification.authzProvider are both set"},
		{[]string{"apiKeyVerification.jwksUri=https://idp/keys"}, "apiKeyVerification.jwksUri needs apiKeyVerification.jwtIssuer"},
		// Gateway policies would be granted in every namespace, Istio's root one among them.
		{[]string{"apiKeyVerification.jwtIssuer=https://idp"}, "apiKeyVerification.jwtIssuer needs ingressGateway.namespace"},
		{[]string{"apiKeyVerification.authzProvider=ext-authz"}, "apiKeyVerification.authzProvider needs ingressGateway.namespace"},
		{[]string{"rateLimitMode=local"}, "rateLimitMode=local needs ingressGateway.namespace"},
		{[]string{"metrics.port=9443"}, "webhook.port and metrics.port are both 9443"},
		{[]string{"healthProbe.port=9443"}, "webhook.port and healthProbe.port are both 9443"},
		{[]string{"healthProbe.port=8080"}, "metrics.port and healthProbe.port are both 8080"},
		{[]string{"leaderElection=false"}, "leaderElection=false with replicaCount 2"},
		{[]string{"podDisruptionBudget.minAvailable=2"}, "podDisruptionBudget.minAvailable 2 keeps all 2 replicas"},
		{[]string{"replicaCount=3", "podDisruptionBudget.minAvailable=100%"}, "podDisruptionBudget.minAvailable 100% keeps all 3 replicas"},
		// Kubernetes rounds a percentage up: 60% of 2 is 2.
		{[]string{"podDisruptionBudget.minAvailable=60%"}, "podDisruptionBudget.minAvailable 60% keeps all 2 replicas"},
		// The kubelet would kill a replica before its stop ended, the Lease unreleased.
		{[]string{"shutdownDelay=1m"}, "terminationGracePeriodSeconds 45 does not cover shutdownDelay 1m and the operator's 30s graceful stop after it (90s in all)"},
		{[]string{"shutdownDelay=1m30s", "terminationGracePeriodSeconds=120"}, "terminationGracePeriodSeconds 120 does not cover shutdownDelay 1m30s"},
		{[]string{"terminationGracePeriodSeconds=30"}, "terminationGracePeriodSeconds 30 does not cover shutdownDelay 5s"},
	} {
		out, err := helm(t, append([]string{"template", release, chartDir(t)}, setArgs(c.sets)...)...)
		require.Error(t, err, c.sets)
		assert.Contains(t, out, c.want, c.sets)
	}
	for _, sets := range [][]string{
		{"apiKeyVerification.jwtIssuer=https://idp", "apiKeyVerification.jwksUri=https://idp/keys", "ingressGateway.namespace=istio-ingress"},
		// No rate limit can be scoped to an HTTPRoute: nothing is granted.
		{"rateLimitMode=local", "routeAPI=HTTPRoute"},
		{"replicaCount=1", "leaderElection=false"},
		{"replicaCount=1", "podDisruptionBudget.minAvailable=1"},
		{"podDisruptionBudget.minAvailable=50%"},
		{"replicaCount=3", "podDisruptionBudget.minAvailable=2"},
		{"shutdownDelay=1m", "terminationGracePeriodSeconds=91"},
		{"shutdownDelay=14500ms"},
	} {
		out, err := helm(t, append([]string{"template", release, chartDir(t)}, setArgs(sets)...)...)
		assert.NoError(t, err, "%v: %s", sets, out)
	}
}

// TestDeploymentNamedAsTheCanvasChart: the Deployment has the name and selector of the
// canvas's Python chart's, app=api-operator-istio alone (the canvas's tooling finds it by
// them, and an upgrade from that chart may patch it: a selector cannot change), whatever
// the release; deployment.operatorName renames both. Its pods carry the chart's own
// selector labels too, by which the Service, PodDisruptionBudget, PodMonitor and spread
// constraint select them. A podLabels app, which would leave the pods unselected, is
// refused unless it is that name; other podLabels are added.
func TestDeploymentNamedAsTheCanvasChart(t *testing.T) {
	for name, sets := range map[string][]string{
		"api-operator-istio": {"metrics.podMonitor.enabled=true"},
		"aoi-team-b":         {"metrics.podMonitor.enabled=true", "deployment.operatorName=aoi-team-b"},
	} {
		objs := renderRelease(t, "other", chartDir(t), setArgs(sets)...)
		dep := find(t, objs, "Deployment", name)
		selector, _, _ := unstructured.NestedStringMap(dep.Object, "spec", "selector", "matchLabels")
		assert.Equal(t, map[string]string{"app": name}, selector, sets)
		pod, _, _ := unstructured.NestedStringMap(dep.Object, "spec", "template", "metadata", "labels")
		assert.Equal(t, map[string]string{"app": name, "app.kubernetes.io/name": "api-operator-istio", "app.kubernetes.io/instance": "other"}, pod, sets)
		assertSelectsPods(t, objs, pod)
		for _, obj := range objs {
			if obj.GetKind() != "Deployment" {
				assert.True(t, strings.HasPrefix(obj.GetName(), "other-api-operator-istio") || obj.GetKind() == "Gateway", "%s %s keeps the release's name", obj.GetKind(), obj.GetName())
			}
		}
	}
	pod, _, _ := unstructured.NestedStringMap(find(t, render(t, "podLabels.team=b", "podLabels.app=api-operator-istio"), "Deployment", deployment).Object,
		"spec", "template", "metadata", "labels")
	assert.Equal(t, "b", pod["team"])
	assert.Equal(t, "api-operator-istio", pod["app"])
	out, err := helm(t, "template", release, chartDir(t), "--set", "podLabels.app=mine")
	require.Error(t, err)
	assert.Contains(t, out, `podLabels.app is "mine" but the Deployment selects its pods by app=api-operator-istio: set deployment.operatorName instead`)
	// The Service, PodDisruptionBudget and PodMonitor select by the other two labels.
	out, err = helm(t, "template", release, chartDir(t), "--set", "podLabels.app\\.kubernetes\\.io/instance=mine")
	require.Error(t, err, out)
	assert.Contains(t, out, `podLabels."app.kubernetes.io/instance" is "mine" but the chart's Service, PodDisruptionBudget and PodMonitor select the operator's pods by app.kubernetes.io/instance=canvas: leave it out`)
	pod, _, _ = unstructured.NestedStringMap(find(t, render(t, "podLabels.app\\.kubernetes\\.io/name=api-operator-istio"), "Deployment", deployment).Object,
		"spec", "template", "metadata", "labels")
	assert.Equal(t, "api-operator-istio", pod["app.kubernetes.io/name"], "the same value is no conflict")
}

// assertSelectsPods: every label selector the chart renders but the Deployment's own
// matches pods labelled so.
func assertSelectsPods(t *testing.T, objs []*unstructured.Unstructured, pod map[string]string) {
	t.Helper()
	paths := map[string][]string{
		"Service":             {"spec", "selector"},
		"PodDisruptionBudget": {"spec", "selector", "matchLabels"},
		"PodMonitor":          {"spec", "selector", "matchLabels"},
	}
	seen := map[string]bool{}
	for _, obj := range objs {
		path, ok := paths[obj.GetKind()]
		if !ok {
			continue
		}
		selector, _, _ := unstructured.NestedStringMap(obj.Object, path...)
		require.NotEmpty(t, selector, obj.GetKind())
		assert.Subset(t, pod, selector, "%s %s selects the operator's pods", obj.GetKind(), obj.GetName())
		seen[obj.GetKind()] = true
	}
	assert.Len(t, seen, len(paths), "each kind rendered")
	spread, _, _ := unstructured.NestedSlice(find(t, objs, "Deployment", pod["app"]).Object, "spec", "template", "spec", "topologySpreadConstraints")
	require.Len(t, spread, 1)
	selector, _, _ := unstructured.NestedStringMap(spread[0].(map[string]any), "labelSelector", "matchLabels")
	assert.Subset(t, pod, selector, "the spread constraint counts the operator's pods")
}

// TestIstioBefore122Refused: a cluster that serves Istio's networking API at v1alpha3 but
// not v1 (Istio before 1.22) fails the install, saying so; one that serves v1, or helm
// template, which serves neither, renders.
func TestIstioBefore122Refused(t *testing.T) {
	out, err := helm(t, "template", release, chartDir(t), "--api-versions", "networking.istio.io/v1alpha3", "--api-versions", "networking.istio.io/v1beta1")
	require.Error(t, err)
	assert.Contains(t, out, "the cluster serves networking.istio.io/v1alpha3 but not networking.istio.io/v1: Istio is older than 1.22")
	for _, apis := range [][]string{nil, {"networking.istio.io/v1alpha3", "networking.istio.io/v1beta1", "networking.istio.io/v1"}} {
		var args []string
		for _, a := range apis {
			args = append(args, "--api-versions", a)
		}
		out, err := helm(t, append([]string{"template", release, chartDir(t)}, args...)...)
		assert.NoError(t, err, "%v: %s", apis, out)
	}
}

func setArgs(sets []string) []string {
	var args []string
	for _, s := range sets {
		args = append(args, "--set", s)
	}
	return args
}

// TestLongReleaseNames: up to the longest release name Helm takes (53), every Service name
// is a DNS-1035 label (63 characters) and the CA's common name fits cert-manager's 64;
// release names of up to 36 characters keep the names they had.
func TestLongReleaseNames(t *testing.T) {
	for _, n := range []int{36, 37, 53} {
		for _, obj := range renderRelease(t, strings.Repeat("r", n), chartDir(t)) {
			switch obj.GetKind() {
			case "Service":
				assert.Empty(t, validation.IsDNS1035Label(obj.GetName()), obj.GetName())
			case "Certificate":
				cn, _, _ := unstructured.NestedString(obj.Object, "spec", "commonName")
				assert.LessOrEqual(t, len(cn), 64, cn)
			}
		}
	}
	find(t, renderRelease(t, strings.Repeat("r", 36), chartDir(t)), "Service", strings.Repeat("r", 36)+"-api-operator-istio-webhook")
}

// TestPodMonitorScrapesEveryReplica: off by default; on, it selects the Deployment's pods
// and scrapes the container's metrics port, with the labels a Prometheus selects it by.
func TestPodMonitorScrapesEveryReplica(t *testing.T) {
	for _, obj := range render(t) {
		assert.NotEqual(t, "PodMonitor", obj.GetKind(), "none by default")
	}
	objs := render(t, valueSets["pod-monitor"]...)
	monitor, dep := find(t, objs, "PodMonitor", "canvas-api-operator-istio"), find(t, objs, "Deployment", deployment)
	assert.Equal(t, "kps", monitor.GetLabels()["release"])
	selector, _, _ := unstructured.NestedStringMap(monitor.Object, "spec", "selector", "matchLabels")
	podLabels, _, _ := unstructured.NestedStringMap(dep.Object, "spec", "template", "metadata", "labels")
	require.NotEmpty(t, selector)
	for k, v := range selector {
		assert.Equal(t, v, podLabels[k], "the PodMonitor selects the operator's pods by %s", k)
	}
	endpoints, _, _ := unstructured.NestedSlice(monitor.Object, "spec", "podMetricsEndpoints")
	require.Len(t, endpoints, 1)
	endpoint := endpoints[0].(map[string]any)
	assert.Equal(t, "1m30s", endpoint["interval"])
	var metricsPort int32
	for _, p := range container(t, objs).Ports {
		if p.Name == endpoint["port"] {
			metricsPort = p.ContainerPort
		}
	}
	assert.Equal(t, int32(8080), metricsPort, "the endpoint names the container's metrics port")
	assert.Contains(t, container(t, objs).Args, "--metrics-bind-address=:8080")
}

// TestPodDisruptionBudgetLetsNodesDrain: with two replicas one may go; with one, a budget
// of one available would block every node drain, so none is rendered.
func TestPodDisruptionBudgetLetsNodesDrain(t *testing.T) {
	budgets := func(sets ...string) []*unstructured.Unstructured {
		var out []*unstructured.Unstructured
		for _, obj := range render(t, sets...) {
			if obj.GetKind() == "PodDisruptionBudget" {
				out = append(out, obj)
			}
		}
		return out
	}
	two := budgets()
	require.Len(t, two, 1)
	minAvailable, _, _ := unstructured.NestedInt64(two[0].Object, "spec", "minAvailable")
	assert.Equal(t, int64(1), minAvailable)
	assert.Empty(t, budgets("replicaCount=1"), "a budget for a single replica blocks node drains")
}

// TestInternalSegmentsValue: the list reaches the operator as APIOPERATORISTIO_INTERNALSEGMENTS,
// empty by default (every API on the component gateway).
func TestInternalSegmentsValue(t *testing.T) {
	for want, sets := range map[string][]string{
		"":                                    nil,
		"managementFunction,securityFunction": {"internalSegments={managementFunction,securityFunction}"},
	} {
		assert.Equal(t, want, deploymentEnv(t, "APIOPERATORISTIO_INTERNALSEGMENTS", sets...), sets)
	}
}

// deploymentEnv is the value of the operator container's environment variable name.
func deploymentEnv(t *testing.T, name string, sets ...string) string {
	t.Helper()
	for _, obj := range render(t, sets...) {
		if obj.GetKind() != "Deployment" {
			continue
		}
		containers, _, _ := unstructured.NestedSlice(obj.Object, "spec", "template", "spec", "containers")
		env, _, _ := unstructured.NestedSlice(containers[0].(map[string]any), "env")
		for _, e := range env {
			if e := e.(map[string]any); e["name"] == name {
				return e["value"].(string)
			}
		}
	}
	t.Fatalf("no %s in the Deployment's environment", name)
	return ""
}

// TestRouteAPIRendering: the setting reaches the operator, and the RBAC follows it: the
// HTTPRoute mode may write HTTPRoutes and read the component Gateway (in its namespace,
// or in each served one for a bare name) and, cluster-wide, the GatewayClasses, through a
// cache (no get: nothing reads one directly), and label the Python operator's
// VirtualServices it removes; the VirtualService mode only remove HTTPRoutes a former
// HTTPRoute mode left; with internal segments, the HTTPRoute mode writes their mesh
// VirtualServices.
func TestRouteAPIRendering(t *testing.T) {
	for _, c := range []struct {
		sets                     []string
		env                      string
		httproutes, gateways     []string
		virtualservices, gwRoles []string
		classes                  []string
	}{
		{nil, "VirtualService", []string{"list", "watch", "delete"}, nil,
			[]string{"get", "list", "watch", "create", "update", "delete"}, nil, nil},
		{[]string{"routeAPI=HTTPRoute"}, "HTTPRoute", []string{"get", "list", "watch", "create", "update", "delete"}, nil,
			[]string{"get", "list", "watch", "update", "delete"}, []string{releaseNS}, []string{"list", "watch"}},
		{[]string{"routeAPI=HTTPRoute", "componentGateway=component-gateway"}, "HTTPRoute", []string{"get", "list", "watch", "create", "update", "delete"},
			[]string{"list", "watch"}, []string{"get", "list", "watch", "update", "delete"}, nil, []string{"list", "watch"}},
		// Internal segments keep their mesh VirtualServices in HTTPRoute mode.
		{[]string{"routeAPI=HTTPRoute", "internalSegments={managementFunction}"}, "HTTPRoute", []string{"get", "list", "watch", "create", "update", "delete"}, nil,
			[]string{"get", "list", "watch", "create", "update", "delete"}, []string{releaseNS}, []string{"list", "watch"}},
		// Token checks need no more of the GatewayClasses than the cache's.
		{[]string{"routeAPI=HTTPRoute", "apiKeyVerification.jwtIssuer=https://idp.example.com"}, "HTTPRoute", []string{"get", "list", "watch", "create", "update", "delete"}, nil,
			[]string{"get", "list", "watch", "update", "delete"}, []string{releaseNS}, []string{"list", "watch"}},
	} {
		t.Run(c.env+strings.Join(c.sets, ","), func(t *testing.T) {
			var gwRoles []string
			deployments, roles, clusterRoles := 0, 0, 0
			for _, obj := range render(t, c.sets...) {
				switch {
				case obj.GetKind() == "ClusterRole" && strings.HasSuffix(obj.GetName(), "-cluster"):
					clusterRoles++
					assert.Equal(t, c.classes, verbsOf(t, obj, "gateway.networking.k8s.io", "gatewayclasses"))
				case obj.GetKind() == "Deployment":
					deployments++
					assert.Contains(t, fmt.Sprint(obj.Object), "map[name:APIOPERATORISTIO_ROUTEAPI value:"+c.env+"]")
				case obj.GetKind() == "ClusterRole" && !strings.HasSuffix(obj.GetName(), "-cluster"):
					roles++
					assert.Equal(t, c.httproutes, verbsOf(t, obj, "gateway.networking.k8s.io", "httproutes"))
					assert.Equal(t, c.gateways, verbsOf(t, obj, "gateway.networking.k8s.io", "gateways"))
					assert.Equal(t, c.virtualservices, verbsOf(t, obj, "networking.istio.io", "virtualservices"))
				case obj.GetKind() == "Role" && strings.HasSuffix(obj.GetName(), "-gateway"):
					assert.Equal(t, []string{"list", "watch"}, verbsOf(t, obj, "gateway.networking.k8s.io", "gateways"))
					gwRoles = append(gwRoles, obj.GetNamespace())
				}
			}
			// Without these the verb checks above would not have run at all.
			assert.Equal(t, 1, deployments, "Deployments rendered")
			assert.Equal(t, 1, roles, "operator ClusterRoles rendered")
			assert.Equal(t, 1, clusterRoles, "cluster-wide ClusterRoles rendered")
			assert.Equal(t, c.gwRoles, gwRoles, "Roles for the component Gateway's namespace")
		})
	}
}

func verbsOf(t *testing.T, role *unstructured.Unstructured, group, resource string) []string {
	var verbs []string
	for _, a := range rulesOf(t, role) {
		if a.Group == group && a.Resource == resource {
			verbs = append(verbs, a.Verb)
		}
	}
	return verbs
}

// TestServiceMonitorGrantsFollowThePattern: the annotation patterns only remove the
// ServiceMonitors the ServiceMonitor pattern left (as the canvas's own key sets them too).
func TestServiceMonitorGrantsFollowThePattern(t *testing.T) {
	for sets, want := range map[string][]string{
		"openmetricsImplementation=ServiceMonitor":                  {"list", "watch", "create", "update", "delete"},
		"openmetricsImplementation=PrometheusAnnotation":            {"list", "delete"},
		"deployment.openMetricsImplementation=DataDogAnnotation":    {"list", "delete"},
		"deployment.openMetricsImplementation=PrometheusAnnotation": {"list", "delete"},
	} {
		roles := 0
		for _, obj := range render(t, sets) {
			if obj.GetKind() == "ClusterRole" && !strings.HasSuffix(obj.GetName(), "-cluster") {
				roles++
				assert.Equal(t, want, verbsOf(t, obj, "monitoring.coreos.com", "servicemonitors"), sets)
			}
		}
		assert.Equal(t, 1, roles, sets)
	}
}

// TestEachReleaseLeadsOnItsOwnLease: the binary reads the chart's arguments as a Lease named
// after the release, so that two releases in one namespace do not share one leader.
func TestEachReleaseLeadsOnItsOwnLease(t *testing.T) {
	assert.Equal(t, fullname, parseFlags(t, container(t, render(t)).Args...).LeaderElectionID)
}

// TestTopologySpreadStrict: whenUnsatisfiable is the admin's to make strict.
func TestTopologySpreadStrict(t *testing.T) {
	for _, obj := range render(t, "topologySpread.whenUnsatisfiable=DoNotSchedule") {
		if obj.GetKind() == "Deployment" {
			spread, _, _ := unstructured.NestedSlice(obj.Object, "spec", "template", "spec", "topologySpreadConstraints")
			require.Len(t, spread, 1)
			assert.Equal(t, "DoNotSchedule", spread[0].(map[string]any)["whenUnsatisfiable"])
			return
		}
	}
	t.Fatal("no Deployment rendered")
}

// TestPodPatchPolicyNeedsKubernetes130 (drop-in audit): on a cluster without
// ValidatingAdmissionPolicy v1 (Kubernetes before 1.30, as the canvas's guide lists) the
// install says what to set, instead of failing on an unknown kind.
func TestPodPatchPolicyNeedsKubernetes130(t *testing.T) {
	const vwc, vap = "admissionregistration.k8s.io/v1/ValidatingWebhookConfiguration", "admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy"
	out, err := helm(t, "template", release, chartDir(t), "--api-versions", vwc)
	require.Error(t, err)
	assert.Contains(t, out, "podPatchPolicy.enabled needs ValidatingAdmissionPolicy at admissionregistration.k8s.io/v1 (Kubernetes 1.30 or later)")
	for _, args := range [][]string{
		{"--api-versions", vwc, "--set", "podPatchPolicy.enabled=false"},
		{"--api-versions", vwc, "--api-versions", vap},
		nil, // helm template alone names no kind
	} {
		out, err := helm(t, append([]string{"template", release, chartDir(t)}, args...)...)
		assert.NoError(t, err, "%v: %s", args, out)
	}
}
