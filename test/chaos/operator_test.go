package chaos

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// gateway is the Istio Gateway the operator's routes attach to in the suite.
const gateway = "istio-system/public"

// operator is the built binary running as its own process; its log goes to a file that
// every start of the same operator appends to.
type operator struct {
	name, kubeconfig, logPath string
	args                      []string
	cmd                       *exec.Cmd
	done                      chan struct{}
	webhookPort               int
}

// newOperator is an operator named name (its user in the audit log) with extra flags; it
// is not started.
func newOperator(t *testing.T, p *plane, name string, args ...string) *operator {
	t.Helper()
	return &operator{
		name: name, kubeconfig: p.operatorKubeconfig(t, name), args: args,
		logPath: t.TempDir() + "/" + name + ".log",
	}
}

// withWebhooks makes the operator serve the webhooks on a port of its own with the
// certificate envtest made for the webhook configurations.
func (o *operator) withWebhooks(t *testing.T, p *plane) *operator {
	host, _, certDir := p.WebhookServing()
	o.webhookPort = harness.FreePort(t)
	o.args = append(o.args, "--enable-webhooks=true", "--webhook-host="+host,
		"--webhook-port="+strconv.Itoa(o.webhookPort), "--webhook-cert-dir="+certDir)
	return o
}

func (o *operator) start(t *testing.T) {
	t.Helper()
	log, err := os.OpenFile(o.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"--kubeconfig", o.kubeconfig, "--metrics-bind-address=0", "--health-probe-bind-address=0",
		"--component-gateway=" + gateway, "--log-level=info", "--graceful-shutdown-timeout=5s"}, o.args...)
	if o.webhookPort == 0 {
		args = append(args, "--enable-webhooks=false")
	}
	o.cmd = exec.Command(binary, args...)
	o.cmd.Stdout, o.cmd.Stderr = log, log
	if err := o.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	o.done = done
	cmd := o.cmd
	go func() { _ = cmd.Wait(); _ = log.Close(); close(done) }()
	t.Cleanup(o.kill)
}

// kill SIGKILLs the process, as the kubelet does past the grace period or the OOM killer.
func (o *operator) kill() {
	if o.cmd == nil {
		return
	}
	_ = o.cmd.Process.Signal(syscall.SIGKILL)
	<-o.done
	o.cmd = nil
}

// signal sends sig to the process: SIGSTOP freezes it, SIGCONT lets it go on.
func (o *operator) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := o.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
}

func (o *operator) running() bool {
	if o.cmd == nil {
		return false
	}
	select {
	case <-o.done:
		return false
	default:
		return true
	}
}

// logSize is where the log ends now: errorsSince reads from there.
func (o *operator) logSize(t *testing.T) int64 {
	t.Helper()
	st, err := os.Stat(o.logPath)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// errorsSince are the error lines the operator logged after offset.
func (o *operator) errorsSince(t *testing.T, offset int64) []string {
	t.Helper()
	f, err := os.Open(o.logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Seek(offset, 0); err != nil {
		t.Fatal(err)
	}
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if isError(sc.Text()) {
			out = append(out, sc.Text())
		}
	}
	return out
}

// isError: a JSON line at level error or worse, or another line (klog's, a panic's) that
// says error or panic.
func isError(text string) bool {
	var line struct {
		Level string `json:"level"`
	}
	if json.Unmarshal([]byte(text), &line) == nil {
		return line.Level == "error" || line.Level == "dpanic" || line.Level == "panic" || line.Level == "fatal"
	}
	return strings.HasPrefix(text, "E") || strings.HasPrefix(text, "panic") || strings.HasPrefix(text, "fatal")
}
