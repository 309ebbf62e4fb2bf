package helm

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// pod runs the pod of an installed Deployment as a kubelet and the EndpointSlice controller
// would, on a control plane that has neither: the container runs the operator binary built
// from this checkout (no image can be built here) with the container's args and
// environment, its volumes as local directories (a Secret volume kept in step with its
// Secret, swapped atomically as the kubelet does), and the identity of its ServiceAccount,
// so only the chart's RBAC applies. Once its readiness probe passes, every Service that
// selects the pod gets an EndpointSlice with this machine's address.
type pod struct {
	t         *testing.T
	env       *harness.Env
	namespace string
	spec      corev1.PodSpec
	labels    map[string]string
	ip        string
	mounts    map[string]string // mountPath: local directory
	logs      *harness.LockedBuffer
	exited    chan struct{}
	// secretLag is how long after a Secret changes its volume's files follow: the kubelet
	// refreshes mounted Secrets on its sync period, a minute or two late.
	secretLag time.Duration
}

func runDeployment(t *testing.T, env *harness.Env, namespace, name string) *pod {
	t.Helper()
	return runDeploymentLagging(t, env, namespace, name, 0)
}

// runDeploymentLagging is runDeployment with the pod's Secret volumes updated lag after
// their Secret changes (at start, at once).
func runDeploymentLagging(t *testing.T, env *harness.Env, namespace, name string, lag time.Duration) *pod {
	t.Helper()
	d := &appsv1.Deployment{}
	require.NoError(t, env.Client.Get(context.Background(), client.ObjectKey{Namespace: namespace, Name: name}, d))
	require.Len(t, d.Spec.Template.Spec.Containers, 1, "one container")
	p := &pod{t: t, env: env, namespace: namespace, spec: d.Spec.Template.Spec, labels: d.Spec.Template.Labels,
		ip: hostAddress(t), mounts: map[string]string{}, logs: &harness.LockedBuffer{}, exited: make(chan struct{}), secretLag: lag}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	p.mountVolumes(ctx)
	p.start(ctx)
	p.waitReady()
	p.publishEndpoints()
	return p
}

func (p *pod) container() corev1.Container { return p.spec.Containers[0] }

// mountVolumes makes a directory per volume mount: a Secret's keys as files, kept up to
// date; an emptyDir empty.
func (p *pod) mountVolumes(ctx context.Context) {
	for _, m := range p.container().VolumeMounts {
		vol := p.volume(m.Name)
		dir := p.t.TempDir()
		p.mounts[m.MountPath] = dir
		switch {
		case vol.Secret != nil:
			p.syncSecret(ctx, vol.Secret.SecretName, dir)
		case vol.EmptyDir != nil:
		default:
			p.t.Fatalf("volume %s: only secret and emptyDir volumes can be run here", m.Name)
		}
	}
}

func (p *pod) volume(name string) corev1.Volume {
	for _, v := range p.spec.Volumes {
		if v.Name == name {
			return v
		}
	}
	p.t.Fatalf("no volume %s", name)
	return corev1.Volume{}
}

// syncSecret writes the Secret into dir once it exists (the kubelet does not start a pod
// before), then again secretLag after each change.
func (p *pod) syncSecret(ctx context.Context, name, dir string) {
	var version string
	var changed time.Time // when the Secret was first seen changed, not yet written
	refresh := func(lag time.Duration) error {
		s := &corev1.Secret{}
		if err := p.env.Client.Get(ctx, client.ObjectKey{Namespace: p.namespace, Name: name}, s); err != nil {
			return err
		}
		if s.ResourceVersion == version {
			return nil
		}
		if changed.IsZero() {
			changed = time.Now()
		}
		if time.Since(changed) < lag {
			return nil
		}
		version, changed = s.ResourceVersion, time.Time{}
		return writeAtomically(dir, s.Data)
	}
	harness.Eventually(p.t, "the Secret "+name+" of a volume", func() error { return refresh(0) })
	go func() {
		for ctx.Err() == nil {
			time.Sleep(200 * time.Millisecond)
			_ = refresh(p.secretLag)
		}
	}()
}

// writeAtomically lays files out as the kubelet does: the data in a new directory, a
// "..data" link switched to it in one rename, and each file a link through "..data", so a
// reader never sees a certificate from one version and a key from another.
func writeAtomically(dir string, data map[string][]byte) error {
	version, err := os.MkdirTemp(dir, "..version-")
	if err != nil {
		return err
	}
	for k, v := range data {
		if err := os.WriteFile(filepath.Join(version, k), v, 0o600); err != nil {
			return err
		}
		link := filepath.Join(dir, k)
		if _, err := os.Lstat(link); os.IsNotExist(err) {
			if err := os.Symlink(filepath.Join("..data", k), link); err != nil {
				return err
			}
		}
	}
	tmp := filepath.Join(dir, "..data_tmp")
	_ = os.Remove(tmp)
	if err := os.Symlink(filepath.Base(version), tmp); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, "..data"))
}

func (p *pod) start(ctx context.Context) {
	c := p.container()
	args := append(p.paths(c.Args), "--kubeconfig", p.env.KubeconfigAs(p.t, p.namespace, p.spec.ServiceAccountName))
	cmd := exec.CommandContext(ctx, harness.BuildOperator(p.t), args...)
	cmd.Env = p.environment(c)
	cmd.Stdout, cmd.Stderr = p.logs, p.logs
	require.NoError(p.t, cmd.Start())
	go func() { _ = cmd.Wait(); close(p.exited) }()
	p.t.Cleanup(func() {
		if p.t.Failed() {
			p.t.Logf("operator log:\n%s", p.logs.String())
		}
	})
}

// paths points the arguments at the local directories of the volume mounts.
func (p *pod) paths(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		for mount, dir := range p.mounts {
			a = strings.ReplaceAll(a, mount, dir)
		}
		out[i] = a
	}
	return out
}

// environment is the container's env alone, as in the image, with the downward API
// values a pod on this control plane would get.
func (p *pod) environment(c corev1.Container) []string {
	var out []string
	for _, e := range c.Env {
		v := e.Value
		if e.ValueFrom != nil {
			v = p.downward(c, e.ValueFrom)
		}
		out = append(out, e.Name+"="+v)
	}
	return out
}

func (p *pod) downward(c corev1.Container, from *corev1.EnvVarSource) string {
	switch {
	case from.FieldRef != nil && from.FieldRef.FieldPath == "metadata.namespace":
		return p.namespace
	case from.ResourceFieldRef != nil:
		q, ok := c.Resources.Limits[corev1.ResourceName(strings.TrimPrefix(from.ResourceFieldRef.Resource, "limits."))]
		require.True(p.t, ok, "env from %s: no such limit", from.ResourceFieldRef.Resource)
		return strconv.FormatInt(q.Value(), 10)
	}
	p.t.Fatalf("env from %+v cannot be run here", from)
	return ""
}

// waitReady polls the readiness probe as the kubelet does.
func (p *pod) waitReady() {
	probe := p.container().ReadinessProbe
	require.NotNil(p.t, probe, "a readiness probe")
	url := fmt.Sprintf("http://127.0.0.1:%d%s", p.port(probe.HTTPGet.Port.String()), probe.HTTPGet.Path)
	harness.Eventually(p.t, "the readiness probe "+url, func() error {
		select {
		case <-p.exited:
			p.t.Fatalf("the operator exited:\n%s", p.logs.String())
		default:
		}
		resp, err := http.Get(url) //nolint:gosec,noctx // the pod's own probe address
		if err != nil {
			return err
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	})
}

// port resolves a port of the container, by name or number.
func (p *pod) port(nameOrNumber string) int32 {
	for _, cp := range p.container().Ports {
		if cp.Name == nameOrNumber || strconv.Itoa(int(cp.ContainerPort)) == nameOrNumber {
			return cp.ContainerPort
		}
	}
	n, err := strconv.Atoi(nameOrNumber)
	require.NoError(p.t, err, "no container port %s", nameOrNumber)
	return int32(n)
}

// publishEndpoints writes, for each Service selecting the pod, the EndpointSlice the
// endpoint controller would.
func (p *pod) publishEndpoints() {
	services := &corev1.ServiceList{}
	require.NoError(p.t, p.env.Client.List(context.Background(), services, client.InNamespace(p.namespace)))
	n := 0
	for _, svc := range services.Items {
		if len(svc.Spec.Selector) == 0 || !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(p.labels)) {
			continue
		}
		slice := &discoveryv1.EndpointSlice{
			ObjectMeta: metav1.ObjectMeta{Namespace: p.namespace, Name: svc.Name + "-pod",
				Labels: map[string]string{discoveryv1.LabelServiceName: svc.Name}},
			AddressType: discoveryv1.AddressTypeIPv4,
			Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{p.ip}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}},
		}
		for _, sp := range svc.Spec.Ports {
			slice.Ports = append(slice.Ports, discoveryv1.EndpointPort{Name: ptr.To(sp.Name), Port: ptr.To(p.port(sp.TargetPort.String()))})
		}
		require.NoError(p.t, p.env.Client.Create(context.Background(), slice))
		n++
	}
	require.NotZero(p.t, n, "no Service selects the pod")
}

// address is where the pod serves port (by name or number), as the API server reaches it.
func (p *pod) address(port string) string {
	return net.JoinHostPort(p.ip, strconv.Itoa(int(p.port(port))))
}

// hostAddress is an IPv4 address of this machine other than loopback: an EndpointSlice may
// not hold a loopback address.
func hostAddress(t *testing.T) string {
	addrs, err := net.InterfaceAddrs()
	require.NoError(t, err)
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() && !n.IP.IsLinkLocalUnicast() {
			return n.IP.String()
		}
	}
	t.Skip("this machine has no IPv4 address but loopback, and an EndpointSlice may not point at loopback")
	return ""
}
