package helm

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// TestHelmInstallCanvasSettings installs the chart where the canvas's install guide puts
// things: the ingress gateway Service in istio-ingress, components in components and
// odacompns-* namespaces, the chart's own component Gateway. An ExposedAPI in a namespace
// created after the install is routed through that Gateway and gets its URL from the
// istio-ingress address.
func TestHelmInstallCanvasSettings(t *testing.T) {
	harness.EachCRDSet(t, installWithCanvasSettings)
}

func installWithCanvasSettings(t *testing.T, set harness.CRDSet) {
	ctx := context.Background()
	env := harness.StartRoutingToEndpoints(t, set)
	for _, ns := range []string{releaseNS, "components"} {
		env.Namespace(t, ns)
	}
	env.GatewayIn(t, "istio-ingress", "30.0.0.1", "")
	admin := env.Kubeconfig(t, "installer", "system:masters")
	// logLevel as the canvas's chart sets it: the Python number, a YAML integer.
	helmInstall(t, admin, "certManager.enabled=false", "watchNamespaces={components,odacompns-*}", "logLevel=20")
	gw := &networkingv1.Gateway{}
	require.NoError(t, env.Client.Get(ctx, client.ObjectKey{Namespace: releaseNS, Name: "component-gateway"}, gw), "the chart's Gateway")
	p := runDeployment(t, env, releaseNS, deployment)

	ns := env.Namespace(t, "odacompns-new")
	env.Implementation(t, ns, "impl", 8080, true)
	api := harness.API(ns, "late", "/late//api/", "impl", 8080)
	harness.Eventually(t, "the ExposedAPI admitted", func() error { return env.Client.Create(ctx, api.DeepCopy()) })
	harness.Eventually(t, "the VirtualService on the chart's Gateway", func() error {
		vs := &networkingv1.VirtualService{}
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(api), vs); err != nil {
			return err
		}
		if want := []string{releaseNS + "/component-gateway"}; !slices.Equal(vs.Spec.Gateways, want) {
			return fmt.Errorf("gateways %v, want %v", vs.Spec.Gateways, want)
		}
		return nil
	})
	env.WaitAPI(t, api, "the URL from the istio-ingress address", func(a *odav1.ExposedAPI) error {
		if s := a.Status.APIStatus; s == nil || s.URL != "https://30.0.0.1/late/api" {
			return fmt.Errorf("status %+v", a.Status.APIStatus)
		}
		return nil
	})
	assertLog(t, p)
}

// TestDefaultsRenderTheCanvasGateway: with default values the chart makes the component
// Gateway as the canvas's chart does, points the operator at it as <namespace>/<name>, and
// looks for the ingress gateway Service in every namespace.
func TestDefaultsRenderTheCanvasGateway(t *testing.T) {
	objs := render(t)
	gw := find(t, objs, "Gateway", "component-gateway")
	assert.Equal(t, releaseNS, gw.GetNamespace())
	spec := gw.Object["spec"].(map[string]any)
	assert.Equal(t, map[string]any{"istio": "ingressgateway"}, spec["selector"])
	assert.Equal(t, []any{
		map[string]any{"port": map[string]any{"number": int64(80), "name": "http", "protocol": "HTTP"},
			"tls": map[string]any{"httpsRedirect": true}, "hosts": []any{"*"}},
		map[string]any{"port": map[string]any{"number": int64(443), "name": "https", "protocol": "HTTPS"},
			"tls": map[string]any{"mode": "SIMPLE", "credentialName": "istio-ingress-cert"}, "hosts": []any{"*"}},
	}, spec["servers"])

	c := container(t, objs)
	for _, a := range c.Args {
		assert.NotContains(t, a, "--ingress-gateway-namespace", "the ingress gateway is looked for everywhere")
	}
	assert.Equal(t, releaseNS+"/component-gateway", envValue(c, "APIOPERATORISTIO_COMPONENTGATEWAY"))
	for _, obj := range objs {
		assert.NotEqual(t, "istio-system", obj.GetNamespace(), "%s %s", obj.GetKind(), obj.GetName())
	}

	custom := render(t, "gateway.hostName=apis.example.com", "gateway.httpsRedirect=false", "gateway.credentialName=shop-cert", "gateway.name=shop")
	servers := find(t, custom, "Gateway", "shop").Object["spec"].(map[string]any)["servers"].([]any)
	assert.Equal(t, map[string]any{"httpsRedirect": false}, servers[0].(map[string]any)["tls"])
	assert.Equal(t, "shop-cert", servers[1].(map[string]any)["tls"].(map[string]any)["credentialName"])
	assert.Equal(t, []any{"apis.example.com"}, servers[1].(map[string]any)["hosts"])
	assert.Equal(t, releaseNS+"/shop", envValue(container(t, custom), "APIOPERATORISTIO_COMPONENTGATEWAY"))

	own := render(t, "gateway.create=false", "componentGateway=istio-system/public")
	for _, obj := range own {
		assert.NotEqual(t, "Gateway", obj.GetKind())
	}
	assert.Equal(t, "istio-system/public", envValue(container(t, own), "APIOPERATORISTIO_COMPONENTGATEWAY"))
}

// TestNamespacePatternsRenderAClusterRole: a pattern needs cluster-wide watches, names keep
// a Role per namespace.
func TestNamespacePatternsRenderAClusterRole(t *testing.T) {
	objs := render(t, "watchNamespaces={components,odacompns-*}")
	assert.Equal(t, "components,odacompns-*", envValue(container(t, objs), "COMPONENT_NAMESPACE"))
	find(t, objs, "ClusterRole", fullname)
	for _, obj := range objs {
		if obj.GetKind() == "Role" {
			assert.Contains(t, []string{fullname + "-self"}, obj.GetName(), "no Role per namespace with a pattern")
		}
	}
	names := render(t, "watchNamespaces={components,team-b}")
	assert.Equal(t, "components", find(t, names, "Role", fullname).GetNamespace())
}

func find(t *testing.T, objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	t.Helper()
	for _, obj := range objs {
		if obj.GetKind() == kind && obj.GetName() == name {
			return obj
		}
	}
	t.Fatalf("no %s %s rendered", kind, name)
	return nil
}

func container(t *testing.T, objs []*unstructured.Unstructured) corev1.Container {
	t.Helper()
	dep := find(t, objs, "Deployment", deployment)
	cs, _, _ := unstructured.NestedSlice(dep.Object, "spec", "template", "spec", "containers")
	c := corev1.Container{}
	require.NoError(t, runtime.DefaultUnstructuredConverter.FromUnstructured(cs[0].(map[string]any), &c))
	return c
}

func envValue(c corev1.Container, name string) string {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}
