package metrics

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestSlimServiceKeepsTheSelectorOnly(t *testing.T) {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "impl", UID: "u1", ResourceVersion: "7",
			Labels: map[string]string{"app": "impl"}, Annotations: map[string]string{"big": "x"}},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "impl"}, Ports: []corev1.ServicePort{{Port: 80}}, ClusterIP: "10.0.0.1"},
	}
	got, err := SlimService(svc)
	require.NoError(t, err)
	slim := got.(*corev1.Service)
	assert.Equal(t, "ns", slim.Namespace)
	assert.Equal(t, "impl", slim.Name)
	assert.Equal(t, "7", slim.ResourceVersion)
	assert.Equal(t, map[string]string{"app": "impl"}, slim.Spec.Selector)
	assert.Empty(t, slim.Spec.Ports)
	assert.Empty(t, slim.Annotations)
	assert.Empty(t, slim.Spec.ClusterIP)

	other := &corev1.Pod{}
	same, err := SlimService(other)
	require.NoError(t, err)
	assert.Same(t, other, same)
}
