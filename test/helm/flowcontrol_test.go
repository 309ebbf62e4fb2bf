package helm

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// TestFlowControlClassifiesTheOperator: with flowControl.enabled, the API server puts the
// requests of the operator's service account, and only those, in the chart's priority
// level, as its API Priority and Fairness response headers say.
func TestFlowControlClassifiesTheOperator(t *testing.T) {
	for _, obj := range render(t) {
		assert.NotContains(t, []string{"FlowSchema", "PriorityLevelConfiguration"}, obj.GetKind(), "flowControl is off by default")
	}
	env := harness.Start(t, harness.Generated)
	ctx := context.Background()
	var account string
	uids := map[string]string{}
	for _, obj := range render(t, "flowControl.enabled=true") {
		switch obj.GetKind() {
		case "ServiceAccount":
			account = obj.GetName()
		case "FlowSchema", "PriorityLevelConfiguration":
			require.NoError(t, env.Client.Create(ctx, obj))
			uids[obj.GetKind()] = string(obj.GetUID())
		}
	}
	require.Len(t, uids, 2, "a FlowSchema and a PriorityLevelConfiguration")
	// The API server takes up new flow-control objects a moment after they are stored.
	var operator classified
	require.Eventually(t, func() bool {
		operator = classification(t, env, "system:serviceaccount:"+releaseNS+":"+account)
		return operator.schema == uids["FlowSchema"]
	}, 30*time.Second, 200*time.Millisecond, "the operator's requests never matched the chart's FlowSchema")
	assert.Equal(t, uids["FlowSchema"], operator.schema, "the operator's requests match the chart's FlowSchema")
	assert.Equal(t, uids["PriorityLevelConfiguration"], operator.level, "and wait in the chart's priority level")
	other := classification(t, env, "system:serviceaccount:"+releaseNS+":another-controller")
	assert.NotEqual(t, uids["FlowSchema"], other.schema, "another service account of the namespace is not ours")
}

type classified struct{ schema, level string }

// classification is where the API server's flow control put a GET by user, from the
// X-Kubernetes-PF-* response headers (a 403 for a user without RBAC carries them too).
func classification(t *testing.T, env *harness.Env, user string) classified {
	t.Helper()
	u, err := env.AddUser(envtest.User{Name: user, Groups: []string{"system:serviceaccounts", "system:authenticated"}})
	require.NoError(t, err)
	cfg := u.Config()
	hc, err := rest.HTTPClientFor(cfg)
	require.NoError(t, err)
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, cfg.Host+"/api/v1/namespaces/default", nil)
	require.NoError(t, err)
	resp, err := hc.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	got := classified{schema: resp.Header.Get("X-Kubernetes-PF-FlowSchema-UID"), level: resp.Header.Get("X-Kubernetes-PF-PriorityLevel-UID")}
	require.NotEmpty(t, got.schema, "the API server's answer (%s) names a FlowSchema", resp.Status)
	return got
}
