package chaos

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// operatorGroup is the group of the operator's users: the audit log records their writes.
const operatorGroup = "chaos:operator"

// auditPolicy records every write, list and watch of the operator's users, and nothing else.
const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: Metadata
  userGroups: ["` + operatorGroup + `"]
  verbs: ["create", "update", "patch", "delete", "deletecollection", "list", "watch"]
- level: None
`

// plane is a control plane whose API server writes an audit log of the operator's writes.
type plane struct {
	*harness.Env
	audit     string
	restarted *exec.Cmd // the kube-apiserver restartAPIServer started, if any
}

func startPlane(t *testing.T, set harness.CRDSet, webhooks bool) *plane {
	t.Helper()
	dir := t.TempDir()
	policy := filepath.Join(dir, "audit-policy.yaml")
	if err := os.WriteFile(policy, []byte(auditPolicy), 0o600); err != nil {
		t.Fatal(err)
	}
	p := &plane{audit: filepath.Join(dir, "audit.log")}
	p.Env = harness.StartConfigured(t, set, webhooks, func(env *envtest.Environment) {
		args := env.ControlPlane.GetAPIServer().Configure()
		args.Set("audit-policy-file", policy)
		args.Set("audit-log-path", p.audit)
	})
	return p
}

// operatorKubeconfig is a kubeconfig of a cluster admin of the operator's group.
func (p *plane) operatorKubeconfig(t *testing.T, user string) string {
	return p.Kubeconfig(t, user, "system:masters", operatorGroup)
}

// write is one write the operator made, from the audit log.
type write struct {
	at                   time.Time
	user, verb, resource string
	object               string // namespace/name, and /subresource
	code                 int
}

type auditEvent struct {
	Verb           string    `json:"verb"`
	RequestURI     string    `json:"requestURI"`
	StageTimestamp time.Time `json:"stageTimestamp"`
	User           struct {
		Username string `json:"username"`
	} `json:"user"`
	ObjectRef struct {
		Resource, Namespace, Name, Subresource string
	} `json:"objectRef"`
	ResponseStatus struct {
		Code int `json:"code"`
	} `json:"responseStatus"`
}

// writes are the operator's writes to the objects it manages, since a time: leader election
// leases and authentication reviews are not state.
func (p *plane) writes(t *testing.T, since time.Time) []write {
	t.Helper()
	var out []write
	for _, e := range p.auditEvents(t, since) {
		r := e.ObjectRef.Resource
		if e.Verb == "list" || e.Verb == "watch" || r == "leases" || strings.HasSuffix(r, "reviews") {
			continue
		}
		obj := e.ObjectRef.Namespace + "/" + e.ObjectRef.Name
		if e.ObjectRef.Subresource != "" {
			obj += "/" + e.ObjectRef.Subresource
		}
		out = append(out, write{at: e.StageTimestamp, user: e.User.Username, verb: e.Verb, resource: r, object: obj, code: e.ResponseStatus.Code})
	}
	return out
}

// relists are the operator's full reads of a resource since a time: lists, and watches
// that start with the current state (a watch list).
func (p *plane) relists(t *testing.T, since time.Time, resource string) int {
	t.Helper()
	n := 0
	for _, e := range p.auditEvents(t, since) {
		if e.ObjectRef.Resource == resource && (e.Verb == "list" || strings.Contains(e.RequestURI, "sendInitialEvents=true")) {
			n++
		}
	}
	return n
}

func (p *plane) auditEvents(t *testing.T, since time.Time) []auditEvent {
	t.Helper()
	f, err := os.Open(p.audit)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []auditEvent
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var e auditEvent
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			continue
		}
		if !e.StageTimestamp.Before(since) {
			out = append(out, e)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
