package harness

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// ServiceAccount creates a ServiceAccount in default, granted get on the non-resource URL
// /metrics (as the chart's metrics-reader ClusterRole grants it) when metricsReader is set.
func (e *Env) ServiceAccount(t testing.TB, name string, metricsReader bool) client.ObjectKey {
	t.Helper()
	objs := []client.Object{&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name}}}
	if metricsReader {
		objs = append(objs,
			&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name},
				Rules: []rbacv1.PolicyRule{{NonResourceURLs: []string{"/metrics"}, Verbs: []string{"get"}}}},
			&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name},
				RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name},
				Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: "default", Name: name}}})
	}
	for _, obj := range objs {
		if err := e.Client.Create(context.Background(), obj); err != nil {
			t.Fatal(err)
		}
	}
	return client.ObjectKey{Namespace: "default", Name: name}
}
