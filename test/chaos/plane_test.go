package chaos

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// operatorGroup is the group of the operator's users: the audit log records their writes.
const operatorGroup = "chaos:operator"

// auditPolicy records every write of the operator's users, and nothing else.
const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: Metadata
  userGroups: ["` + operatorGroup + `"]
  verbs: ["create", "update", "patch", "delete", "deletecollection"]
- level: None
`

// plane is a control plane whose API server writes an audit log of the operator's writes.
type plane struct {
	*harness.Env
	audit string
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
	f, err := os.Open(p.audit)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []write
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var e auditEvent
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			continue
		}
		r := e.ObjectRef.Resource
		if e.StageTimestamp.Before(since) || r == "leases" || strings.HasSuffix(r, "reviews") {
			continue
		}
		obj := e.ObjectRef.Namespace + "/" + e.ObjectRef.Name
		if e.ObjectRef.Subresource != "" {
			obj += "/" + e.ObjectRef.Subresource
		}
		out = append(out, write{at: e.StageTimestamp, user: e.User.Username, verb: e.Verb, resource: r, object: obj, code: e.ResponseStatus.Code})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
