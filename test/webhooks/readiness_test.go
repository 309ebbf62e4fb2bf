package webhooks

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// TestNotReadyUntilTheCachesSync: the validating webhook looks up routes in the caches, so
// a replica must be neither ready nor serving admission (both are checked) before they
// have synced, or a rollout would send admission requests to a replica that can only fail
// them. The serving certificate's source starts with the manager's other runnables, after
// the caches have synced (certs.Provider.AddToManager). Here the caches cannot sync until
// the operator's account is granted what they list.
func TestNotReadyUntilTheCachesSync(t *testing.T) {
	env := harness.StartWithWebhooks(t, harness.Generated)
	env.Namespace(t, "components")
	const user = "operator-without-rights"
	cfg := rest.CopyConfig(env.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user}
	op := harness.StartOperatorAs(t, env, cfg, harness.DefaultOptions())
	binding := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: user},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects: []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: user}}}
	grant := sync.OnceValue(func() error { return env.Client.Create(context.Background(), binding) })
	// A manager whose caches never sync does not stop: granting before the operator's
	// Stop (cleanups run last first) makes a failure below end the test, not hang it.
	t.Cleanup(func() { _ = grant() })
	req, _ := http.NewRequest(http.MethodGet, "/readyz", nil)
	bad := object("bad", merged(map[string]any{"port": int64(70000)}), nil)
	for range 20 {
		require.Error(t, op.ReadyCheck(req), "ready while its caches cannot list")
		require.Error(t, op.ReadyChecks["caches-synced"](req), "the check that names the cause")
		// Not ready is only half of it: the API server must not reach our handlers either
		// (it cannot speak TLS to a replica without its certificate), or they would judge
		// routes from empty caches.
		err := env.Client.Create(context.Background(), bad.DeepCopy(), client.DryRunAll)
		require.Error(t, err, "admitted while the caches cannot list")
		require.Contains(t, err.Error(), "failed calling webhook", "admission while the caches cannot list")
		require.NotContains(t, err.Error(), "denied the request", "a handler answered before the caches synced")
		time.Sleep(100 * time.Millisecond)
	}

	require.NoError(t, grant())
	harness.Eventually(t, "ready once the caches have synced", func() error { return op.ReadyCheck(req) })
	waitRefusedByWebhook(t, env)
}
