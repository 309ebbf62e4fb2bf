package integration

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/internal/app"
	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// A Canvas ExposedAPI name, <component>-<api>, longer than a label value may be (63).
const longName = "myrelease-partyroleandaccountmanagement-partyroleandaccountmanagement"

// tokenCheckedLong creates an API of that name, with apiKeyVerification, on an operator that
// finds the gateway from its Service (so it finds the API's objects there by their labels).
func tokenCheckedLong(t *testing.T, env *harness.Env, ns, name, path string) *odav1.ExposedAPI {
	t.Helper()
	api := harness.API(ns, name, path, "impl", 8080)
	api.Spec.APIKeyVerification = &odav1.APIKeyVerification{Enabled: ptr.To(true)}
	require.NoError(t, env.Client.Create(context.Background(), api))
	return api
}

// shortened is the label value of a name longer than 63: its first 52 characters and a
// hash of all of it.
func shortened(name string) string {
	sum := sha256.Sum256([]byte(name))
	return name[:52] + "-" + hex.EncodeToString(sum[:])[:10]
}

// TestLongNameGetsTokenChecks: an API whose name is too long for a label value gets its
// token checks, labelled with a shortened name, and is routed.
func TestLongNameGetsTokenChecks(t *testing.T) {
	env, ns := startWithImplAnd(t, harness.Generated, func(o *app.Options) { o.JWTIssuer, o.RefusedRetry = issuer, time.Second })
	api := tokenCheckedLong(t, env, ns, longName, "/long")
	waitCondition(t, env, api, "PoliciesProgrammed", true, "PoliciesEnforced")
	waitCondition(t, env, api, "Ready", true, "Ready")
	ra := &securityv1.RequestAuthentication{}
	require.NoError(t, env.Client.Get(context.Background(), client.ObjectKey{Namespace: "istio-system", Name: ns + "." + longName}, ra))
	assert.Equal(t, map[string]string{"app.kubernetes.io/managed-by": "api-operator-istio",
		"oda.tmforum.org/exposedapi-namespace": ns, "oda.tmforum.org/exposedapi-name": shortened(longName)}, ra.Labels)
}

// TestLongNameDeletes: such an API, once it has its finalizer, is deleted with its token
// checks by an operator that finds them by their labels; another API whose name starts
// with the same 52 characters keeps its own.
func TestLongNameDeletes(t *testing.T) {
	ctx := context.Background()
	env, ns := startWithImplAnd(t, harness.Generated, func(o *app.Options) { o.JWTIssuer, o.RefusedRetry = issuer, time.Second })
	api := tokenCheckedLong(t, env, ns, longName, "/long")
	env.WaitAPI(t, api, "its finalizer", func(got *odav1.ExposedAPI) error {
		if !controllerutil.ContainsFinalizer(got, "oda.tmforum.org/gateway-policies") {
			return fmt.Errorf("finalizers %v", got.Finalizers)
		}
		return nil
	})
	twin := tokenCheckedLong(t, env, ns, longName[:52]+"-twin-of-the-first-one", "/twin")
	require.NoError(t, env.Client.Delete(ctx, api))
	waitGone(t, env, api)
	waitCondition(t, env, twin, "PoliciesProgrammed", true, "PoliciesEnforced")
	for _, obj := range []client.Object{&securityv1.RequestAuthentication{}, &securityv1.AuthorizationPolicy{}} {
		obj.SetNamespace("istio-system")
		obj.SetName(ns + "." + longName)
		waitGone(t, env, obj)
		obj.SetName(ns + "." + twin.Name)
		require.NoError(t, env.Client.Get(ctx, client.ObjectKeyFromObject(obj), obj), fmt.Sprintf("%T of the twin kept", obj))
	}
}
