package harness

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
)

// Wait is how long Eventually-style checks wait for the operator.
const Wait = 30 * time.Second

// Tick is how often they look.
const Tick = 50 * time.Millisecond

// Namespace creates a namespace named name.
func (e *Env) Namespace(t testing.TB, name string) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := e.Client.Create(context.Background(), ns); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	return name
}

// API is an ExposedAPI of component "demo" with the required fields set.
func API(ns, name, path, implementation string, port int32) *odav1.ExposedAPI {
	return &odav1.ExposedAPI{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{odav1.ComponentNameLabel: "demo"}},
		Spec: odav1.ExposedAPISpec{
			Name: name, APIType: odav1.APITypeOpenAPI, Implementation: implementation, Path: path, Port: port,
		},
	}
}

// Gateway creates or updates the Istio ingress gateway Service in istio-system, with the
// given ports, and sets its load balancer status (ip or hostname, either may be empty).
func (e *Env) Gateway(t testing.TB, ip, hostname string, ports ...corev1.ServicePort) {
	t.Helper()
	e.GatewayIn(t, "istio-system", ip, hostname, ports...)
}

// GatewayIn is Gateway in namespace ns (the canvas installs it in istio-ingress).
func (e *Env) GatewayIn(t testing.TB, ns, ip, hostname string, ports ...corev1.ServicePort) {
	t.Helper()
	ctx := context.Background()
	e.Namespace(t, ns)
	if len(ports) == 0 {
		ports = []corev1.ServicePort{{Name: "http2", Port: 80}, {Name: "https", Port: 443}}
	}
	for i := range ports {
		ports[i].TargetPort = intstr.FromInt32(8080 + int32(i))
	}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "istio-ingressgateway"}}
	err := e.Client.Get(ctx, client.ObjectKeyFromObject(svc), svc)
	switch {
	case apierrors.IsNotFound(err):
		svc.Labels = map[string]string{"istio": "ingressgateway"}
		svc.Spec = corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Ports: ports, Selector: map[string]string{"istio": "ingressgateway"}}
		err = e.Client.Create(ctx, svc)
	case err == nil:
		svc.Spec.Ports = ports
		err = e.Client.Update(ctx, svc)
	}
	if err != nil {
		t.Fatal(err)
	}
	svc.Status.LoadBalancer.Ingress = nil
	if ip != "" || hostname != "" {
		svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: ip, Hostname: hostname}}
	}
	if err := e.Client.Status().Update(ctx, svc); err != nil {
		t.Fatal(err)
	}
}

// Implementation creates a Service named name in ns, selecting app=name, and an
// EndpointSlice for it with one endpoint in the given readiness.
func (e *Env) Implementation(t testing.TB, ns, name string, port int32, ready bool) {
	t.Helper()
	ctx := context.Background()
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": name},
			Ports:    []corev1.ServicePort{{Name: "http", Port: port}},
		},
	}
	if err := e.Client.Create(ctx, svc); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	e.SetReady(t, ns, name, ready)
}

// SetReady creates or updates the EndpointSlice of Service svc with one endpoint.
func (e *Env) SetReady(t testing.TB, ns, svc string, ready bool) {
	t.Helper()
	ctx := context.Background()
	slice := &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: svc + "-slice"}}
	err := e.Client.Get(ctx, client.ObjectKeyFromObject(slice), slice)
	slice.Labels = map[string]string{discoveryv1.LabelServiceName: svc}
	slice.AddressType = discoveryv1.AddressTypeIPv4
	slice.Endpoints = []discoveryv1.Endpoint{{Addresses: []string{"10.0.0.1"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(ready)}}}
	switch {
	case apierrors.IsNotFound(err):
		err = e.Client.Create(ctx, slice)
	case err == nil:
		err = e.Client.Update(ctx, slice)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// Eventually polls cond until it returns nil, failing the test with its last error.
func Eventually(t testing.TB, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(Wait)
	var err error
	for time.Now().Before(deadline) {
		if err = cond(); err == nil {
			return
		}
		time.Sleep(Tick)
	}
	t.Fatalf("timed out waiting for %s: %v", what, err)
}

// ServiceMonitorCRD is the test-only ServiceMonitor CRD, generated from the
// prometheus-operator Go types.
func ServiceMonitorCRD(t testing.TB) string {
	return filepath.Join(RepoRoot(t), "test", "crds", "monitoring.coreos.com_servicemonitors.yaml")
}

// PodMonitorCRD is the test-only PodMonitor CRD, generated as ServiceMonitorCRD is.
func PodMonitorCRD(t testing.TB) string {
	return filepath.Join(RepoRoot(t), "test", "crds", "monitoring.coreos.com_podmonitors.yaml")
}

// Pod creates a pod with the labels and one container named app.
func (e *Env) Pod(t testing.TB, ns, name string, labels map[string]string) *corev1.Pod {
	t.Helper()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "example/app:1"}, {Name: "sidecar", Image: "example/proxy:1"}}},
	}
	if err := e.Client.Create(context.Background(), pod); err != nil {
		t.Fatal(err)
	}
	return pod
}

// Service creates a Service with the selector.
func (e *Env) Service(t testing.TB, ns, name string, selector map[string]string) {
	t.Helper()
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       corev1.ServiceSpec{Selector: selector, Ports: []corev1.ServicePort{{Name: "metrics", Port: 9090}}},
	}
	if err := e.Client.Create(context.Background(), svc); err != nil {
		t.Fatal(err)
	}
}

// UpdateAPI changes an ExposedAPI as a user would, reading it again when the operator wrote
// its status in between (without a status subresource that changes the object).
func (e *Env) UpdateAPI(t testing.TB, api *odav1.ExposedAPI, change func(*odav1.ExposedAPI)) {
	t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := e.Client.Get(context.Background(), client.ObjectKeyFromObject(api), api); err != nil {
			return err
		}
		change(api)
		return e.Client.Update(context.Background(), api)
	})
	if err != nil {
		t.Fatalf("updating ExposedAPI %s: %v", api.Name, err)
	}
}

// WaitAPI waits until check passes on the stored ExposedAPI and returns it.
func (e *Env) WaitAPI(t testing.TB, api *odav1.ExposedAPI, what string, check func(*odav1.ExposedAPI) error) *odav1.ExposedAPI {
	t.Helper()
	got := &odav1.ExposedAPI{}
	Eventually(t, api.Name+": "+what, func() error {
		if err := e.Client.Get(context.Background(), client.ObjectKeyFromObject(api), got); err != nil {
			return err
		}
		return check(got)
	})
	return got
}
