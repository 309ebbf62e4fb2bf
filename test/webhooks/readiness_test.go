package webhooks

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// TestNotReadyUntilTheCachesSync: the validating webhook looks up routes in the caches, so
// a replica must be neither ready nor serving admission before they have synced, or a
// rollout would send admission requests to a replica that can only fail them. The serving
// certificate's source starts with the manager's other runnables, after the caches have
// synced (certs.Provider.AddToManager). Here the caches cannot sync until the operator's
// account is granted what they list.
func TestNotReadyUntilTheCachesSync(t *testing.T) {
	env := harness.StartWithWebhooks(t, harness.Generated)
	env.Namespace(t, "components")
	const user = "operator-without-rights"
	cfg := rest.CopyConfig(env.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user}
	op := harness.StartOperatorAs(t, env, cfg, harness.DefaultOptions())
	req, _ := http.NewRequest(http.MethodGet, "/readyz", nil)
	for range 20 {
		require.Error(t, op.ReadyCheck(req), "ready while its caches cannot list")
		time.Sleep(100 * time.Millisecond)
	}

	binding := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: user},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects: []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: user}}}
	require.NoError(t, env.Client.Create(context.Background(), binding))
	harness.Eventually(t, "ready once the caches have synced", func() error { return op.ReadyCheck(req) })
	waitRefusedByWebhook(t, env)
}
