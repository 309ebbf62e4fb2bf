package chaos

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
)

// apiServer is the running kube-apiserver: envtest's at first, then the one restart
// started with the same command line (same etcd, certificates and port).
func (p *plane) apiServerPID(t *testing.T) int {
	t.Helper()
	if p.restarted != nil {
		return p.restarted.Process.Pid
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil || !strings.Contains(string(stat), "(kube-apiserver)") {
			continue
		}
		fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(fields) > 1 && fields[1] == strconv.Itoa(os.Getpid()) {
			return pid
		}
	}
	t.Fatal("no kube-apiserver started by this test")
	return 0
}

// restartAPIServer stops kube-apiserver, runs whileDown, keeps it down for at least down,
// and starts it again with the same command line, on the same etcd.
func (p *plane) restartAPIServer(t *testing.T, down time.Duration, whileDown func()) {
	t.Helper()
	pid := p.apiServerPID(t)
	args, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		t.Fatal(err)
	}
	argv := strings.Split(strings.TrimRight(string(args), "\x00"), "\x00")
	stopped := time.Now()
	_ = syscall.Kill(pid, syscall.SIGTERM)
	if !exited(pid, 5*time.Second) {
		_ = syscall.Kill(pid, syscall.SIGKILL) // it drains long-running requests for a minute
		if !exited(pid, 10*time.Second) {
			t.Fatalf("kube-apiserver %d did not stop", pid)
		}
	}
	if whileDown != nil {
		whileDown()
	}
	time.Sleep(time.Until(stopped.Add(down)))
	cmd := exec.Command(argv[0], argv[1:]...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p.restarted = cmd
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	p.awaitAPIServer(t)
}

// exited waits up to timeout for the process to be gone or a zombie.
func exited(pid int, timeout time.Duration) bool {
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil || strings.Contains(string(stat), ") Z ") {
			return true
		}
	}
	return false
}

func (p *plane) awaitAPIServer(t *testing.T) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if err := p.Client.List(context.Background(), &corev1.NamespaceList{}); err == nil {
			return
		}
	}
	t.Fatal("kube-apiserver did not come back within a minute")
}

// compactEtcd compacts etcd's history up to its current revision: a watch or list from an
// older resource version is then refused with "too old resource version".
func (p *plane) compactEtcd(t *testing.T) int64 {
	t.Helper()
	ctx := context.Background()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{p.Environment().ControlPlane.Etcd.URL.String()}, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	status, err := cli.Get(ctx, "compact-probe")
	if err != nil {
		t.Fatal(err)
	}
	rev := status.Header.Revision
	if _, err := cli.Compact(ctx, rev, clientv3.WithCompactPhysical()); err != nil {
		t.Fatal(err)
	}
	return rev
}
