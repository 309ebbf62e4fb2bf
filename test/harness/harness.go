// Package harness starts real control planes (envtest: kube-apiserver and etcd) for the
// tests, with either CRD set the operator must run on: the ones generated from our Go types,
// or the ODA Canvas's own (no status subresource, unknown fields kept).
package harness

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"

	"github.com/oda-canvas/api-operator-istio/internal/app"
)

// CRDSet names the ExposedAPI and Component CRDs a control plane has.
type CRDSet string

const (
	// Generated is our CRD, generated from api/v1, and the test-only Component CRD.
	Generated CRDSet = "generated-crds"
	// ODA is the ODA Canvas's CRDs, read from ../shared/reference/oda-crds.
	ODA CRDSet = "oda-crds"
)

// Env is a running control plane.
type Env struct {
	Set    CRDSet
	Config *rest.Config
	// Client talks to the API server directly (no cache).
	Client   client.Client
	env      *envtest.Environment
	webhooks bool
}

// RepoRoot is the directory of go.mod.
func RepoRoot(t testing.TB) string {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// assets is where kube-apiserver, etcd and kubectl are; the test is skipped, saying how to
// get them, when they are missing.
func assets(t testing.TB) string {
	dir := os.Getenv("KUBEBUILDER_ASSETS")
	if dir == "" {
		dir = filepath.Join(RepoRoot(t), "bin", "k8s")
	}
	if _, err := os.Stat(filepath.Join(dir, "kube-apiserver")); err != nil {
		t.Skipf("no kube-apiserver in %s: run 'make envtest-assets' (or 'make test', which does)", dir)
	}
	return dir
}

// ODACRDDir is where the ODA Canvas CRDs are read from, beside the checkout.
func ODACRDDir(t testing.TB) string {
	return filepath.Join(RepoRoot(t), "..", "shared", "reference", "oda-crds")
}

// EachCRDSet runs fn once on each CRD set, as subtests; the ODA one is skipped, saying why,
// where those CRDs are not beside the checkout.
func EachCRDSet(t *testing.T, fn func(t *testing.T, set CRDSet)) {
	for _, set := range []CRDSet{Generated, ODA} {
		t.Run(string(set), func(t *testing.T) { fn(t, set) })
	}
}

// Start runs a control plane with the CRD set, Istio's CRDs and extra CRD files, and stops
// it when the test ends.
func Start(t testing.TB, set CRDSet, extraCRDPaths ...string) *Env {
	t.Helper()
	return start(t, set, startOptions{}, extraCRDPaths)
}

// StartWithWebhooks is Start with our webhook configurations (config/webhook) installed,
// pointing at a local port that the operator started by StartOperator serves.
func StartWithWebhooks(t testing.TB, set CRDSet, extraCRDPaths ...string) *Env {
	t.Helper()
	return start(t, set, startOptions{webhooks: true}, extraCRDPaths)
}

// StartRoutingToEndpoints is Start with an API server that reaches a Service, a webhook's
// for instance, at an address of its EndpointSlices (--enable-aggregator-routing) rather than
// at its cluster IP, which nothing routes here: a test can serve a Service from a process
// on this machine by writing the slice that the endpoint controller would.
func StartRoutingToEndpoints(t testing.TB, set CRDSet, extraCRDPaths ...string) *Env {
	t.Helper()
	return start(t, set, startOptions{routeToEndpoints: true}, extraCRDPaths)
}

// StartEnforcingOwnerReferences is Start with the OwnerReferencesPermissionEnforcement
// admission plugin on, as OpenShift and many hardened clusters run it: setting
// blockOwnerDeletion on an owner reference then needs update on the owner's finalizers.
func StartEnforcingOwnerReferences(t testing.TB, set CRDSet, extraCRDPaths ...string) *Env {
	t.Helper()
	return start(t, set, startOptions{enforceOwnerReferences: true}, extraCRDPaths)
}

// StartConfigured is Start, with our webhook configurations when webhooks is set, and
// configure applied to the control plane before it starts (the fault suite adds an audit
// log there, and restarts the API server through Environment).
func StartConfigured(t testing.TB, set CRDSet, webhooks bool, configure func(*envtest.Environment), extraCRDPaths ...string) *Env {
	t.Helper()
	return start(t, set, startOptions{webhooks: webhooks, configure: configure}, extraCRDPaths)
}

type startOptions struct {
	webhooks, routeToEndpoints, enforceOwnerReferences bool
	configure                                          func(*envtest.Environment)
}

func start(t testing.TB, set CRDSet, opts startOptions, extraCRDPaths []string) *Env {
	env := environment(t, set, opts, extraCRDPaths)
	cfg, err := env.Start()
	if err != nil {
		// Starting the control plane is not under test: a load spike on a busy machine has
		// cut a CRD install's response short (unexpected EOF). One more try, from scratch.
		t.Logf("starting the control plane failed, trying once more: %v", err)
		_ = env.Stop()
		env = environment(t, set, opts, extraCRDPaths)
		cfg, err = env.Start()
	}
	if err != nil {
		t.Fatalf("starting the control plane: %v", err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	c, err := client.New(cfg, client.Options{Scheme: app.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	return &Env{Set: set, Config: cfg, Client: c, env: env, webhooks: opts.webhooks}
}

func environment(t testing.TB, set CRDSet, opts startOptions, extraCRDPaths []string) *envtest.Environment {
	env := &envtest.Environment{
		BinaryAssetsDirectory: assets(t),
		CRDInstallOptions: envtest.CRDInstallOptions{
			CRDs:               crdsOf(t, set),
			Paths:              append([]string{IstioCRDs(t)}, extraCRDPaths...),
			ErrorIfPathMissing: true,
		},
	}
	if opts.routeToEndpoints {
		env.ControlPlane.GetAPIServer().Configure().Set("enable-aggregator-routing", "true")
	}
	if opts.enforceOwnerReferences {
		env.ControlPlane.GetAPIServer().Configure().Append("enable-admission-plugins", "OwnerReferencesPermissionEnforcement")
	}
	if opts.webhooks {
		// localhost, not an IP: the self-managed certificate carries DNS names only.
		env.WebhookInstallOptions = envtest.WebhookInstallOptions{
			Paths: []string{filepath.Join(RepoRoot(t), "config", "webhook")}, LocalServingHost: "localhost", LocalServingHostExternalName: "localhost",
		}
	}
	if opts.configure != nil {
		opts.configure(env)
	}
	return env
}

func crdsOf(t testing.TB, set CRDSet) []*apiextensionsv1.CustomResourceDefinition {
	root := RepoRoot(t)
	if set == Generated {
		return append(ReadCRDs(t, filepath.Join(root, "config", "crd", "bases", "oda.tmforum.org_exposedapis.yaml")),
			ReadCRDs(t, filepath.Join(root, "test", "crds", "oda.tmforum.org_components.yaml"))...)
	}
	dir := ODACRDDir(t)
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("the ODA Canvas CRDs are not at %s (they come with the shared reference folder): %v", dir, err)
	}
	crds := ReadCRDs(t, filepath.Join(dir, "oda-exposedapi-crd.yaml"))
	return append(crds, odaComponentCRD(t, filepath.Join(dir, "oda-component-crd.yaml")))
}

// odaComponentCRD loads the ODA Component CRD without its Helm templating: the cert-manager
// annotation goes and conversion becomes None (no conversion webhook runs in tests).
func odaComponentCRD(t testing.TB, path string) *apiextensionsv1.CustomResourceDefinition {
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, line := range strings.Split(string(raw), "\n") {
		if !strings.Contains(line, "{{") {
			kept = append(kept, line)
		}
	}
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := yaml.Unmarshal([]byte(strings.Join(kept, "\n")), crd); err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	crd.Annotations = nil
	crd.Spec.Conversion = &apiextensionsv1.CustomResourceConversion{Strategy: apiextensionsv1.NoneConverter}
	return crd
}

// ReadCRDs reads every CRD document of a YAML file.
func ReadCRDs(t testing.TB, path string) []*apiextensionsv1.CustomResourceDefinition {
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []*apiextensionsv1.CustomResourceDefinition
	for _, doc := range bytes.Split(raw, []byte("\n---")) {
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := yaml.Unmarshal(doc, crd); err != nil {
			t.Fatalf("reading %s: %v", path, err)
		}
		if crd.Kind == "CustomResourceDefinition" {
			out = append(out, crd)
		}
	}
	return out
}

// ModuleDir is the directory of a module of the build, from the module cache.
func ModuleDir(t testing.TB, module string) string {
	dir, err := FindModuleDir(module)
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// IstioCRDs is the file of Istio's CRDs that the istio.io/api module ships.
func IstioCRDs(t testing.TB) string {
	return filepath.Join(ModuleDir(t, "istio.io/api"), "kubernetes", "customresourcedefinitions.gen.yaml")
}

// WebhookServing is where the API server expects the webhooks: host, port, and the
// directory of the certificate envtest made for them.
func (e *Env) WebhookServing() (host string, port int, certDir string) {
	w := e.env.WebhookInstallOptions
	return w.LocalServingHost, w.LocalServingPort, w.LocalServingCertDir
}

// Environment is the running envtest control plane (its etcd, its API server's settings).
func (e *Env) Environment() *envtest.Environment { return e.env }

// AddUser adds a user with its own credentials to the control plane.
func (e *Env) AddUser(u envtest.User) (*envtest.AuthenticatedUser, error) {
	return e.env.AddUser(u, nil)
}
