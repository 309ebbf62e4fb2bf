package helm

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// canvasNS is where the canvas's install guide installs the canvas release.
const canvasNS = "canvas"

// TestReplacingTheCanvasChart follows the README's "Replacing the canvas's api-operator-istio
// chart" on a real release. The canvas's umbrella chart is installed, with the canvas's own
// api-operator-istio chart (testdata) and values, on the canvas's CRDs; an ExposedAPI has
// the VirtualService the Python operator made for it. Then the dependency is pointed at ours
// and the release upgraded:
//   - before step 2, the upgrade fails on the component-gateway the old chart's hook made,
//     and names it; the Python operator's Deployment is left running;
//   - after it, the release adopts that Gateway (the same object, now ours), the Python
//     operator's Deployment is patched in place into ours (its name and selector are the
//     Python chart's, so the canvas's tooling finds it and the upgrade may patch it), its
//     ConfigMap and RBAC go, and our operator, run from the upgraded Deployment with the
//     chart's RBAC alone, takes over the old API's VirtualService in place and admits a new
//     API through its webhooks.
func TestReplacingTheCanvasChart(t *testing.T) {
	ctx := context.Background()
	env, admin, umbrella := canvasRelease(t)
	env.GatewayIn(t, "istio-ingress", "30.0.0.1", "")
	oldGateway := componentGateway(t, env)
	require.Contains(t, oldGateway.Annotations, "helm.sh/hook", "the canvas's chart makes the Gateway in a hook")
	before, pythonVS := pythonOperatorsAPI(t, env)
	python := operatorDeployment(t, env)
	require.Equal(t, "api-operator-istio", python.Spec.Template.Spec.Containers[0].Name, "the Python chart's container")

	putDependency(t, umbrella, chartDir(t), "0.1.0")
	sets := ourTestValues(t)
	out, err := canvasHelm(t, admin, "upgrade", umbrella, sets...)
	require.Error(t, err, "step 2 skipped")
	assert.Contains(t, out, `Gateway "component-gateway" in namespace "canvas" exists and cannot be imported into the current release`)
	assert.Equal(t, python.Spec.Template.Spec, operatorDeployment(t, env).Spec.Template.Spec, "the Python operator still runs")

	adoptComponentGateway(t, env)
	out, err = canvasHelm(t, admin, "upgrade", umbrella, sets...)
	require.NoError(t, err, out)
	gw := componentGateway(t, env)
	assert.Equal(t, oldGateway.UID, gw.UID, "adopted, not replaced")
	assert.Equal(t, renderedGatewaySpec(t, umbrella), asJSON(t, &gw.Spec),
		"helm does not rewrite an object it adopts: the old one must already be what ours renders")
	assertPythonOperatorGone(t, env)
	assertDeploymentPatchedInPlace(t, env, python, renderedContainer(t, umbrella, sets))

	p := runDeployment(t, env, canvasNS, deployment)
	vs := &networkingv1.VirtualService{}
	env.WaitAPI(t, before, "the API routed by our operator", func(a *odav1.ExposedAPI) error {
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(before), vs); err != nil {
			return err
		}
		return urlIs(a, "https://30.0.0.1/before/api", vs)
	})
	assert.Equal(t, pythonVS.UID, vs.UID, "the Python operator's VirtualService taken over in place")
	after := harness.API("components", "after", "/after//api/", "impl", 8080)
	harness.Eventually(t, "the new API admitted", func() error { return env.Client.Create(ctx, after.DeepCopy()) })
	env.WaitAPI(t, after, "the new API routed, its path normalised by our webhook", func(a *odav1.ExposedAPI) error {
		return urlIs(a, "https://30.0.0.1/after/api", nil)
	})
	assertLog(t, p)
}

// TestRollbackToTheCanvasChartKeepsTheGateway: a rollback of the canvas release to a revision
// with the canvas's own chart (README, Uninstalling) must leave component-gateway in place.
// The release adopted it (step 2 above); the canvas's chart makes it only in a post-install
// and post-upgrade hook, which a rollback does not run, so a release that deleted it would
// leave every canvas API's VirtualService on a Gateway that no longer exists.
func TestRollbackToTheCanvasChartKeepsTheGateway(t *testing.T) {
	env, admin, umbrella := canvasRelease(t)
	before := componentGateway(t, env)

	putDependency(t, umbrella, chartDir(t), "0.1.0")
	adoptComponentGateway(t, env)
	out, err := canvasHelm(t, admin, "upgrade", umbrella, ourTestValues(t)...)
	require.NoError(t, err, out)
	require.Equal(t, before.UID, componentGateway(t, env).UID)

	out, err = helm(t, "rollback", "canvas", "1", "--namespace", canvasNS, "--kubeconfig", admin, "--timeout", "2m")
	require.NoError(t, err, out)
	gw := &networkingv1.Gateway{}
	require.NoError(t, env.Client.Get(context.Background(), client.ObjectKeyFromObject(before), gw),
		"the Gateway every canvas VirtualService attaches to is still there after the rollback")
	assert.Equal(t, before.UID, gw.UID)
	assert.Equal(t, "api-operator-istio", operatorDeployment(t, env).Spec.Template.Spec.Containers[0].Name, "the Python operator is back")
}

// canvasRelease installs the canvas release, the canvas's umbrella chart with the canvas's
// own api-operator-istio chart (testdata) and values, on the canvas's CRDs; it returns the
// plane, the installer's kubeconfig and the umbrella chart's directory.
func canvasRelease(t *testing.T) (*harness.Env, string, string) {
	env := harness.StartRoutingToEndpoints(t, harness.ODA)
	for _, ns := range []string{canvasNS, "components"} {
		env.Namespace(t, ns)
	}
	admin := env.Kubeconfig(t, "installer", "system:masters")
	umbrella := t.TempDir()
	putDependency(t, umbrella, filepath.Join(testdata(t), "canvas-api-operator-istio"), "1.1.4")
	completeHookJobs(t, env)
	out, err := canvasHelm(t, admin, "install", umbrella)
	require.NoError(t, err, out)
	return env, admin, umbrella
}

// canvasHelm runs `helm verb` on the canvas release of the umbrella chart, with the canvas's
// values and sets.
func canvasHelm(t *testing.T, kubeconfig, verb, umbrella string, sets ...string) (string, error) {
	args := []string{verb, "canvas", umbrella, "--namespace", canvasNS, "--kubeconfig", kubeconfig,
		"-f", filepath.Join(testdata(t), "canvas-oda-values.yaml"), "--timeout", "2m"}
	for _, s := range sets {
		args = append(args, "--set", s)
	}
	return helm(t, args...)
}

// ourTestValues are what running our pod here needs (one replica, free ports) and the
// self-managed certificate, as dependency values; the canvas's values set the rest.
func ourTestValues(t *testing.T) []string {
	var sets []string
	for _, s := range []string{"replicaCount=1", "certManager.enabled=false", "webhook.port=" + freePortString(t),
		"metrics.port=" + freePortString(t), "healthProbe.port=" + freePortString(t)} {
		sets = append(sets, "api-operator-istio."+s)
	}
	return sets
}

// completeHookJobs does a Job controller's part, which this control plane lacks: each Job
// in the canvas namespace is marked complete, so that helm, which waits for its hook Jobs,
// goes on.
func completeHookJobs(t *testing.T, env *harness.Env) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	t.Cleanup(func() { cancel(); wg.Wait() })
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			var jobs batchv1.JobList
			if env.Client.List(ctx, &jobs, client.InNamespace(canvasNS)) == nil {
				for i := range jobs.Items {
					_ = completeJob(ctx, env, &jobs.Items[i])
				}
			}
			time.Sleep(200 * time.Millisecond)
		}
	}()
}

func completeJob(ctx context.Context, env *harness.Env, job *batchv1.Job) error {
	if job.Status.CompletionTime != nil {
		return nil
	}
	now := metav1.Now()
	done := func(typ batchv1.JobConditionType) batchv1.JobCondition {
		return batchv1.JobCondition{Type: typ, Status: corev1.ConditionTrue, LastProbeTime: now, LastTransitionTime: now}
	}
	job.Status = batchv1.JobStatus{StartTime: &now, CompletionTime: &now, Succeeded: 1,
		Conditions: []batchv1.JobCondition{done(batchv1.JobSuccessCriteriaMet), done(batchv1.JobComplete)}}
	return env.Client.Status().Update(ctx, job)
}

func componentGateway(t *testing.T, env *harness.Env) *networkingv1.Gateway {
	gw := &networkingv1.Gateway{}
	require.NoError(t, env.Client.Get(context.Background(), client.ObjectKey{Namespace: canvasNS, Name: "component-gateway"}, gw))
	return gw
}

// pythonOperatorsAPI is an ExposedAPI as the Python operator left it: its VirtualService,
// controlled by the API (kopf.adopt), on the canvas's Gateway.
func pythonOperatorsAPI(t *testing.T, env *harness.Env) (*odav1.ExposedAPI, *networkingv1.VirtualService) {
	ctx := context.Background()
	env.Implementation(t, "components", "impl", 8080, true)
	api := harness.API("components", "before", "/before/api", "impl", 8080)
	require.NoError(t, env.Client.Create(ctx, api))
	vs := &networkingv1.VirtualService{ObjectMeta: metav1.ObjectMeta{Namespace: "components", Name: api.Name}}
	vs.Spec.Hosts, vs.Spec.Gateways = []string{"*"}, []string{"canvas/component-gateway"}
	vs.OwnerReferences = []metav1.OwnerReference{{APIVersion: "oda.tmforum.org/v1", Kind: "ExposedAPI", Name: api.Name, UID: api.UID, Controller: ptr.To(true)}}
	require.NoError(t, env.Client.Create(ctx, vs))
	return api, vs
}

// adoptComponentGateway is the README's step 2, as kubectl annotate and label do it. Helm
// never patches an object it adopts (its manifest stands for the object's last state), so
// the keep policy our chart's Gateway carries is put on by hand too.
func adoptComponentGateway(t *testing.T, env *harness.Env) {
	patch := []byte(`{"metadata":{"annotations":{"meta.helm.sh/release-name":"canvas","meta.helm.sh/release-namespace":"canvas",` +
		`"helm.sh/resource-policy":"keep"},` +
		`"labels":{"app.kubernetes.io/managed-by":"Helm"}}}`)
	require.NoError(t, env.Client.Patch(context.Background(), componentGateway(t, env), client.RawPatch(types.MergePatchType, patch)))
}

// operatorDeployment is the Deployment both charts name api-operator-istio.
func operatorDeployment(t *testing.T, env *harness.Env) *appsv1.Deployment {
	t.Helper()
	d := &appsv1.Deployment{}
	require.NoError(t, env.Client.Get(context.Background(), client.ObjectKey{Namespace: canvasNS, Name: deployment}, d))
	return d
}

// assertDeploymentPatchedInPlace: the Python operator's Deployment is now ours, the same
// object (a selector cannot change, so one that did would have failed the upgrade, and a
// Deployment of another name would have been created beside the deleted one), running our
// container, and the only Deployment there.
func assertDeploymentPatchedInPlace(t *testing.T, env *harness.Env, python *appsv1.Deployment, want corev1.Container) {
	t.Helper()
	ours := operatorDeployment(t, env)
	assert.Equal(t, python.UID, ours.UID, "the Python operator's Deployment patched in place, not replaced")
	assert.Equal(t, &metav1.LabelSelector{MatchLabels: map[string]string{"app": "api-operator-istio"}}, ours.Spec.Selector,
		"the Python chart's selector, unchanged")
	require.Len(t, ours.Spec.Template.Spec.Containers, 1)
	c := ours.Spec.Template.Spec.Containers[0]
	assert.Equal(t, want.Name, c.Name)
	assert.Equal(t, want.Image, c.Image)
	assert.Equal(t, want.Args, c.Args)
	assert.Empty(t, c.Command, "the Python container's command is gone")
	assert.Empty(t, c.EnvFrom, "the Python container's ConfigMap environment is gone")
	assert.Equal(t, []string{deployment}, deploymentNames(t, env, canvasNS), "one operator Deployment")
}

// renderedContainer is the operator's container as the umbrella chart renders it with the
// canvas's values and sets.
func renderedContainer(t *testing.T, umbrella string, sets []string) corev1.Container {
	t.Helper()
	args := []string{"--namespace", canvasNS, "-f", filepath.Join(testdata(t), "canvas-oda-values.yaml")}
	return container(t, renderDir(t, umbrella, append(args, setArgs(sets)...)...))
}

// assertPythonOperatorGone: the upgrade removed what the canvas's chart installed, but for
// its Deployment, which ours took over, and its hook Job, which no release tracks (the
// README says to delete it).
func assertPythonOperatorGone(t *testing.T, env *harness.Env) {
	ctx := context.Background()
	for _, obj := range []client.Object{
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: canvasNS, Name: "api-operator-istio-configmap"}},
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: canvasNS, Name: "apioperator-account"}},
		&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "apioperator-role-cluster"}},
		&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "apioperator-rolebinding-cluster"}},
	} {
		err := env.Client.Get(ctx, client.ObjectKeyFromObject(obj), obj)
		assert.True(t, apierrors.IsNotFound(err), "%T %s: %v", obj, obj.GetName(), err)
	}
	job := &batchv1.Job{}
	assert.NoError(t, env.Client.Get(ctx, client.ObjectKey{Namespace: canvasNS, Name: "canvas-loadbalancer-svc-istio-ingress"}, job))
}

// renderedGatewaySpec is the spec of the component Gateway that the umbrella chart renders
// with the canvas's values.
func renderedGatewaySpec(t *testing.T, umbrella string) map[string]any {
	for _, obj := range renderDir(t, umbrella, "-f", filepath.Join(testdata(t), "canvas-oda-values.yaml")) {
		if obj.GetKind() == "Gateway" {
			return asJSON(t, obj.Object["spec"])
		}
	}
	t.Fatal("no Gateway rendered")
	return nil
}

// asJSON is v as JSON decodes it, numbers as float64 whatever v held.
func asJSON(t *testing.T, v any) map[string]any {
	raw, err := json.Marshal(v)
	require.NoError(t, err)
	var spec map[string]any
	require.NoError(t, json.Unmarshal(raw, &spec))
	return spec
}

// urlIs: the API has url, and its status names vs when given.
func urlIs(api *odav1.ExposedAPI, url string, vs *networkingv1.VirtualService) error {
	s := api.Status.APIStatus
	if s == nil || s.URL != url || (vs != nil && s.UID != string(vs.UID)) {
		return fmt.Errorf("status %+v", s)
	}
	return nil
}
