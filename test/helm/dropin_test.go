package helm

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/internal/app"
	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// TestHelmInstallNamedNamespaceCreatedLater: the canvas's chart watches the namespaces of
// deployment.monitoredNamespaces with a ClusterRole, so a name listed there before its
// namespace exists installs, and its APIs are routed once it is created. Ours, given the
// same names, installs too, and serves that namespace from its creation, bound by the
// chart's RBAC alone: by a ClusterRole while a listed namespace is missing, by a Role in
// each once an upgrade finds them all.
func TestHelmInstallNamedNamespaceCreatedLater(t *testing.T) {
	ctx := context.Background()
	env := harness.StartRoutingToEndpoints(t, harness.Generated)
	for _, ns := range []string{releaseNS, "components"} {
		env.Namespace(t, ns)
	}
	env.GatewayIn(t, "istio-ingress", "30.0.0.1", "")
	admin := env.Kubeconfig(t, "installer", "system:masters")
	helmInstall(t, admin, "certManager.enabled=false", "watchNamespaces={components,team-later}")
	p := runDeployment(t, env, releaseNS, deployment)
	require.NoError(t, env.Client.Get(ctx, client.ObjectKey{Name: fullname}, &rbacv1.ClusterRole{}))

	ns := env.Namespace(t, "team-later")
	env.Implementation(t, ns, "impl", 8080, true)
	routed(t, env, harness.API(ns, "late", "/late/api", "impl", 8080))

	out, err := helm(t, "upgrade", release, chartDir(t), "--namespace", releaseNS, "--kubeconfig", admin, "--reuse-values")
	require.NoError(t, err, out)
	for _, n := range []string{"components", ns} {
		assert.NoError(t, env.Client.Get(ctx, client.ObjectKey{Namespace: n, Name: fullname}, &rbacv1.Role{}), n)
	}
	err = env.Client.Get(ctx, client.ObjectKey{Name: fullname}, &rbacv1.ClusterRole{})
	assert.True(t, apierrors.IsNotFound(err), "the ClusterRole gone: %v", err)
	routed(t, env, harness.API(ns, "later", "/later/api", "impl", 8080))
	assertLog(t, p)
}

// routed creates api and waits for its VirtualService and its URL on the ingress address.
func routed(t *testing.T, env *harness.Env, api *odav1.ExposedAPI) {
	ctx := context.Background()
	harness.Eventually(t, "the ExposedAPI admitted", func() error { return env.Client.Create(ctx, api.DeepCopy()) })
	harness.Eventually(t, "the VirtualService", func() error {
		return env.Client.Get(ctx, client.ObjectKeyFromObject(api), &networkingv1.VirtualService{})
	})
	env.WaitAPI(t, api, "the URL", func(a *odav1.ExposedAPI) error {
		if s := a.Status.APIStatus; s == nil || s.URL != "https://30.0.0.1"+api.Spec.Path {
			return fmt.Errorf("status %+v", a.Status.APIStatus)
		}
		return nil
	})
}

// TestCanvasLogLevelsAsPythonReadsThem: the canvas's chart passes configmap.loglevel to
// the Python operator, which takes any number as its level (int(LOGGING): 50 is
// CRITICAL, 15 between DEBUG and INFO, 0 NOTSET: its root logger's WARNING). Each renders as our dependency, reaches LOGGING as
// given, and is a level the binary starts with; a value of ours that means the same level
// agrees with it.
func TestCanvasLogLevelsAsPythonReadsThem(t *testing.T) {
	umbrella := umbrellaChart(t)
	values := filepath.Join(testdata(t), "canvas-oda-values.yaml")
	for level, ours := range map[string]string{"0": "warn", "5": "debug", "15": "info", "25": "warn", "50": "error"} {
		for _, set := range []string{"--set", "--set-string"} {
			objs := renderDir(t, umbrella, "-f", values, set, "api-operator-istio.configmap.loglevel="+level)
			got := envValue(container(t, objs), "LOGGING")
			assert.Equal(t, level, got, "%s %s", set, level)
			_, err := app.ParseLogLevel(got)
			assert.NoError(t, err, level)
		}
		out, err := helm(t, "template", release, umbrella, "--namespace", canvasNS, "-f", values,
			"--set", "api-operator-istio.configmap.loglevel="+level, "--set", "api-operator-istio.logLevel="+ours)
		assert.NoError(t, err, "%s and %s: %s", level, ours, out)
	}
}
