package chaos

import (
	"fmt"
	"net"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/oda-canvas/api-operator-istio/test/harness"
)

const (
	// withdrawLag is how long after SIGTERM the Service still sends the replica new
	// connections: the time for its endpoint's withdrawal to reach every node.
	withdrawLag = time.Second
	// drainDelay is the replicas' --shutdown-delay in this test, longer than withdrawLag.
	drainDelay = 3 * time.Second
)

// TestRollingRestart is a rolling update's stop of the leader: SIGTERMed while creates
// arrive steadily, it stays behind the Service for withdrawLag, which keeps sending it new
// connections and tries no other (as kube-proxy does until it has seen the endpoint go),
// and keeps the connections already open to it. No create is refused: the replica answers
// through its --shutdown-delay, closing each connection after its answer, and the other
// replica takes over and converges everything.
func TestRollingRestart(t *testing.T) {
	harness.EachCRDSet(t, rollingRestart)
}

func rollingRestart(t *testing.T, set harness.CRDSet) {
	p := startPlane(t, set, true)
	namespaces := []string{"rolling-a", "rolling-b"}
	s := newScene(t, p, namespaces...)
	s.listEntries(t, nil)
	replicas, svc, leader := replicaPair(t, p, namespaces[0], true, "--shutdown-delay="+drainDelay.String())
	// Creates for a while before the signal, through the lag and the delay, and after.
	n := sized(1000, 600)
	c := startCreating(t, p, s, leader, n)
	leader.signal(t, syscall.SIGTERM)
	signalled := time.Now()
	stopped := make(chan time.Duration, 1)
	go func() { <-leader.done; stopped <- time.Since(signalled) }()
	time.AfterFunc(withdrawLag, func() { svc.withdraw(net.JoinHostPort(hostOf(p), strconv.Itoa(leader.webhookPort))) })
	created, refused := c.wait()
	for _, r := range refused {
		t.Errorf("create refused %s after the SIGTERM: %v", r.sent.Sub(signalled).Round(time.Millisecond), r.err)
	}
	select {
	case after := <-stopped:
		if after < drainDelay {
			t.Errorf("stopped %s after SIGTERM, before its --shutdown-delay", after)
		}
	case <-time.After(drainDelay + 10*time.Second):
		t.Errorf("the SIGTERMed replica still runs %s after the signal", time.Since(signalled))
	}
	s.listEntries(t, created)
	ok := s.finish(t, fmt.Sprintf("7 rolling restart of the leader %s (%d APIs)", set, n), c.start, 3*time.Minute, replicas...)
	t.Logf("recovered %v; creates sent: %d", ok, n)
}

func hostOf(p *plane) string {
	host, _, _ := p.WebhookServing()
	return host
}
