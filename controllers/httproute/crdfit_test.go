package httproute

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/api/v1/validation"
	"github.com/oda-canvas/api-operator-istio/internal/routes"
)

// TestAdmittedSpecsFitTheHTTPRouteCRD: in HTTPRoute mode, a spec admission lets through
// makes a route the HTTPRoute CRD takes, and what it cannot make fit is refused at admission
// on the field at fault. Repeated CORS entries, as written or once normalised, are harmless
// and are admitted (the CRD's lists are sets, which refuse a repeat, so the route leaves
// them out); what is refused, the CRD would refuse too. The VirtualService mode's checks
// (ValidateSpec) accept every case.
func TestAdmittedSpecsFitTheHTTPRouteCRD(t *testing.T) {
	env := &envtest.Environment{CRDDirectoryPaths: gatewayAPICRDs(t)}
	cfg, err := env.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = env.Stop() }()
	s := runtime.NewScheme()
	_ = gatewayv1.Install(s)
	_ = corev1.AddToScheme(s)
	c, err := client.New(cfg, client.Options{Scheme: s})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "components"}}); err != nil {
		t.Fatal(err)
	}
	b := &Builder{Routes: routes.Settings{Gateway: "canvas/component-gateway", GatewayInAPINamespace: true, HostNamesOnly: true}}
	allMethods := "GET, HEAD, POST, PUT, DELETE, CONNECT, OPTIONS, TRACE, PATCH"
	for i, tc := range []struct {
		name    string
		path    string
		cors    *odav1.CORS
		refused string // the field admission refuses in HTTPRoute mode; "" when admitted
	}{
		{name: "repeated method", cors: preflight("https://a.example.com", "GET, POST, GET", "")},
		{name: "all methods, one repeated", cors: preflight("https://a.example.com", allMethods+", GET", "")},
		{name: "origin repeated with its default port", cors: origins("https://a.example.com, https://a.example.com:443")},
		{name: "origin repeated in another case", cors: origins("https://A.example.com, https://a.example.com")},
		{name: "origin repeated with a trailing slash", cors: origins("http://a.example.com/, HTTP://a.example.com:80")},
		{name: "any origin twice", cors: origins("*, *")},
		{name: "repeated header", cors: preflight("https://a.example.com", "", "Content-Type, Content-Type")},
		{name: "header repeated in another case", cors: preflight("https://a.example.com", "", "Content-Type, content-type")},
		{name: "64 origins", cors: origins(numbered("https://o%d.example.com", 64))},
		{name: "65 origins, one repeated", cors: origins(numbered("https://o%d.example.com", 64) + ", https://o0.example.com:443")},
		{name: "65 origins", cors: origins(numbered("https://o%d.example.com", 65)), refused: "spec.CORS.allowOrigins"},
		{name: "64 headers", cors: preflight("https://a.example.com", "", numbered("X-H%d", 64))},
		{name: "65 headers, one repeated", cors: preflight("https://a.example.com", "", numbered("X-H%d", 64)+", x-h0")},
		{name: "65 headers", cors: preflight("https://a.example.com", "", numbered("X-H%d", 65)), refused: "spec.CORS.handlePreflightRequests.allowHeaders"},
		{name: "origin of 253 characters", cors: origins("https://" + longHost(245))},
		{name: "origin of 254 characters", cors: origins("https://" + longHost(246)), refused: "spec.CORS.allowOrigins"},
		{name: "header of 256 characters", cors: preflight("https://a.example.com", "", "X-"+strings.Repeat("h", 254))},
		{name: "header of 257 characters", cors: preflight("https://a.example.com", "", "X-"+strings.Repeat("h", 255)), refused: "spec.CORS.handlePreflightRequests.allowHeaders"},
		{name: "origin with a trailing dot", cors: origins("https://a.example.com."), refused: "spec.CORS.allowOrigins"},
		{name: "path of 1024 bytes", path: "/" + strings.Repeat("a", 1023)},
		{name: "path of 1025 bytes", path: "/" + strings.Repeat("a", 1024), refused: "spec.path"},
		{name: "path of 1101 bytes", path: "/" + strings.Repeat("a", 1100), refused: "spec.path"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := &odav1.ExposedAPISpec{Name: "x", APIType: "openapi", Implementation: "svc", Path: "/x", Port: 8080, CORS: tc.cors, Segment: "coreFunction"}
			if tc.path != "" {
				spec.Path = tc.path
			}
			if errs := validation.ValidateSpec(spec, field.NewPath("spec")); len(errs) > 0 {
				t.Fatalf("refused in VirtualService mode: %v", errs)
			}
			errs := validation.ValidateForHTTPRoute(spec, field.NewPath("spec"))
			hr := &gatewayv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Namespace: "components", Name: fmt.Sprintf("r%d", i)}, Spec: b.spec("components", spec)}
			created := c.Create(ctx, hr)
			if tc.refused != "" {
				if len(errs) != 1 || errs[0].Field != tc.refused {
					t.Fatalf("want one refusal of %s, got %v", tc.refused, errs)
				}
				if created == nil {
					t.Fatal("refused at admission, but the HTTPRoute CRD takes the route")
				}
				return
			}
			if len(errs) > 0 {
				t.Fatalf("refused in HTTPRoute mode: %v", errs)
			}
			if created != nil {
				t.Fatalf("admitted, but the HTTPRoute CRD refuses the route: %v", created)
			}
		})
	}
}

func origins(csv string) *odav1.CORS {
	return &odav1.CORS{Enabled: ptr.To(true), AllowOrigins: csv}
}

func preflight(origins, methods, headers string) *odav1.CORS {
	return &odav1.CORS{Enabled: ptr.To(true), AllowOrigins: origins,
		HandlePreflightRequests: &odav1.PreflightRequests{AllowMethods: methods, AllowHeaders: headers}}
}

// numbered is n comma-separated entries of format, numbered from 0.
func numbered(format string, n int) string {
	entries := make([]string, n)
	for i := range entries {
		entries[i] = fmt.Sprintf(format, i)
	}
	return strings.Join(entries, ", ")
}

// longHost is a host name of n characters (n > 3), of labels of at most 63.
func longHost(n int) string {
	var labels []string
	for n > 0 {
		l := min(n, 63)
		if rest := n - l; rest > 0 && rest < 2 {
			l-- // leave room for a dot and a label
		}
		labels = append(labels, strings.Repeat("a", l))
		n -= l + 1
	}
	return strings.Join(labels, ".")
}

// gatewayAPICRDs are the Gateway API's standard CRDs the build's module ships (the harness
// that finds them imports this package).
func gatewayAPICRDs(t *testing.T) []string {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "sigs.k8s.io/gateway-api").Output()
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(strings.TrimSpace(string(out)), "config", "crd", "standard", "gateway.networking.k8s.io_*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no Gateway API CRDs: %v", err)
	}
	var crds []string
	for _, f := range files {
		if !strings.Contains(f, "_vap_") { // a ValidatingAdmissionPolicy, no CRD
			crds = append(crds, f)
		}
	}
	return crds
}
