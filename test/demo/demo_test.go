package demo

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oda-canvas/api-operator-istio/internal/app"
	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// TestDemo runs `make demo` and `DEMO_ROUTE_API=HTTPRoute make demo` without waiting for
// Ctrl-C and checks what they showed.
func TestDemo(t *testing.T) {
	for _, routeAPI := range []string{app.VirtualService, app.HTTPRoute} {
		t.Run(routeAPI, func(t *testing.T) { demo(t, routeAPI) })
	}
}

func demo(t *testing.T, routeAPI string) {
	root := harness.RepoRoot(t)
	assets := filepath.Join(root, "bin", "k8s")
	if _, err := os.Stat(filepath.Join(assets, "kube-apiserver")); err != nil {
		t.Skipf("no kube-apiserver in %s: run make envtest-assets", assets)
	}
	var out bytes.Buffer
	res, err := Run(context.Background(), Options{Root: root, Assets: assets, Exit: true, RouteAPI: routeAPI}, &out)
	require.NoError(t, err, out.String())

	want := map[string]string{
		"productcatalog-tmf620":    "https://192.0.2.10/productcatalog/tmf-api/productCatalogManagement/v4",
		"productcatalog-events":    "https://192.0.2.10/productcatalog/tmf-api/event/v4",
		"productcatalog-metrics":   "https://192.0.2.10/productcatalog/metrics",
		"productcatalog-mcp":       "https://192.0.2.10/productcatalog/mcp",
		"productcatalog-partyrole": "https://security.example.com/productcatalog/tmf-api/partyRoleManagement/v4",
	}
	got := map[string]string{}
	for _, r := range res.APIs {
		assert.True(t, r.Ready, "%s is Ready", r.Name)
		assert.Equal(t, routeAPI+"/"+r.Name, r.Route, "%s has its %s", r.Name, routeAPI)
		got[r.Name] = r.URL
	}
	assert.Equal(t, want, got)
	for _, r := range res.APIs {
		if r.Name == "productcatalog-tmf620" {
			assert.Contains(t, r.Conditions, "PoliciesProgrammed=True(PoliciesEnforced)", "CORS, token checks (and in VirtualService mode the rate limit) in force")
		}
	}

	lists := map[string]string{}
	for _, c := range res.Components {
		assert.True(t, c.Ready, "component entry %s ready", c.Name)
		assert.Equal(t, want[c.Name], c.URL, "component entry %s url", c.Name)
		lists[c.Name] = c.List
	}
	assert.Equal(t, map[string]string{"productcatalog-tmf620": "coreAPIs", "productcatalog-mcp": "coreAPIs", "productcatalog-events": "managementAPIs",
		"productcatalog-metrics": "managementAPIs", "productcatalog-partyrole": "securityAPIs"}, lists)

	refused := map[string]string{}
	for _, r := range res.Refusals {
		refused[r.Name] = r.Message
	}
	prefix := `admission webhook "vexposedapi.oda.tmforum.org" denied the request: ExposedAPI.oda.tmforum.org `
	// A bare gateway name is one Istio gateway for all namespaces, and each namespace's own
	// Gateway API Gateway.
	gateway := map[string]string{app.VirtualService: "component-gateway", app.HTTPRoute: "components/component-gateway"}[routeAPI]
	assert.Equal(t, prefix+`"invalid-port" is invalid: spec.port: Invalid value: 70000: must be a port number from 1 to 65535`, refused["invalid-port"])
	assert.Equal(t, prefix+`"invalid-duplicate-route" is invalid: spec.path: Invalid value: "/productcatalog/tmf-api/productCatalogManagement/v4": `+
		`route */productcatalog/tmf-api/productCatalogManagement/v4 on gateway `+gateway+` is already exposed by ExposedAPI components/productcatalog-tmf620; choose another path or hostname`,
		refused["invalid-duplicate-route"])
	assert.Contains(t, refused["invalid-path"], `spec.specification.url: Invalid value: "ftp://example.com/TMF622.json"`)
	assert.Contains(t, refused["invalid-cors"], "spec.CORS.allowCredentials: Invalid value: true")
	assert.Len(t, refused, 4)
	assert.Contains(t, out.String(), "EXPOSEDAPI")
	assert.NotContains(t, out.String(), "Try next", "on exit the control plane and its kubeconfig are gone")
}

// TestTryNext: the commands printed while the demo runs name its kubeconfig and samples.
func TestTryNext(t *testing.T) {
	var out bytes.Buffer
	printNext(&out, "/tmp/demo/kubeconfig", "/repo/bin/k8s/kubectl", "/repo")
	assert.Contains(t, out.String(), "export KUBECONFIG=/tmp/demo/kubeconfig")
	assert.Contains(t, out.String(), "/repo/bin/k8s/kubectl --kubeconfig /tmp/demo/kubeconfig apply -f /repo/config/samples/invalid/")
}
