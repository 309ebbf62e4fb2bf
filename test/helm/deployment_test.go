package helm

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// TestUpgradeRenamesTheDeployment: an upgrade that changes the Deployment's name, as one
// from a release of this chart that named it after the release does, leaves one operator
// Deployment, of the new name: Helm deletes the old one, whose selector differs, rather than
// patch it.
func TestUpgradeRenamesTheDeployment(t *testing.T) {
	env, admin := installEnv(t)
	helmInstall(t, admin, "certManager.enabled=false", "deployment.operatorName="+fullname)
	assert.Equal(t, []string{fullname}, deploymentNames(t, env, releaseNS))

	out, err := helmRelease(t, "upgrade", admin, release, "certManager.enabled=false")
	require.NoError(t, err, out)
	assert.Equal(t, []string{deployment}, deploymentNames(t, env, releaseNS), "the renamed Deployment alone")
}

// TestTwoReleasesInOneNamespace: a second release in the namespace of the first, both
// naming the Deployment api-operator-istio, fails with Helm's word for it (its other objects
// are named after the release; its Gateway here is not made); with a name of its own it
// installs beside the first.
func TestTwoReleasesInOneNamespace(t *testing.T) {
	env, admin := installEnv(t)
	helmInstall(t, admin, "certManager.enabled=false")
	out, err := installRelease(t, admin, "other", "certManager.enabled=false", "gateway.create=false")
	require.Error(t, err)
	assert.Contains(t, out, `Deployment "api-operator-istio" in namespace "oda-operators" exists and cannot be imported into the current release: `+
		`invalid ownership metadata; annotation validation error: key "meta.helm.sh/release-name" must equal "other": current value is "canvas"`)
	out, err = installRelease(t, admin, "other", "certManager.enabled=false", "gateway.create=false", "deployment.operatorName=other-operator")
	require.NoError(t, err, out)
	assert.ElementsMatch(t, []string{deployment, "other-operator"}, deploymentNames(t, env, releaseNS))
}

func deploymentNames(t *testing.T, env *harness.Env, namespace string) []string {
	t.Helper()
	var all appsv1.DeploymentList
	require.NoError(t, env.Client.List(context.Background(), &all, client.InNamespace(namespace)))
	var names []string
	for _, d := range all.Items {
		names = append(names, d.Name)
	}
	return names
}
