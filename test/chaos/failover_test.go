package chaos

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// Leader election timings: controller-runtime's defaults, which the chart keeps.
const (
	leaseDuration = 15 * time.Second
	retryPeriod   = 2 * time.Second
	// takeoverLimit is the latest a standby takes over after the leader dies. It looks every
	// retryPeriod stretched by up to 1.2 more (client-go's JitterFactor: up to 4.4 s), and it
	// times the lease from when it saw the last renewal, which is up to one look after the
	// leader made it: so the lease duration and two looks, and a little for the API server.
	takeoverLimit = leaseDuration + 2*(retryPeriod+12*retryPeriod/10) + 500*time.Millisecond
)

// TestLeaderFailover is fault 2: two replicas with leader election serve the webhooks
// behind one Service with failurePolicy Fail; the leader is SIGKILLed mid-convergence. The
// other takes over within the lease duration (plus the retry period it looks every), no
// create is refused while it lives, and everything converges.
func TestLeaderFailover(t *testing.T) {
	harness.EachCRDSet(t, failover)
}

func failover(t *testing.T, set harness.CRDSet) {
	p := startPlane(t, set, true)
	namespaces := []string{"failover-a", "failover-b"}
	s := newScene(t, p, namespaces...)
	s.listEntries(t, nil)
	replicas, _, leader := replicaPair(t, p, namespaces[0], false)
	n := sized(1000, 100)
	c := startCreating(t, p, s, leader, n)
	start := c.start
	killed := time.Now()
	leader.kill()
	dead := time.Now()
	var next *operator
	for _, r := range replicas {
		if r != leader {
			next = r
		}
	}
	awaitLeader(t, []*operator{next}, takeoverLimit+5*time.Second)
	takeover := time.Since(killed)
	created, refused := c.wait()
	inFlight := 0
	for _, r := range refused {
		if !r.sent.After(dead) && lostInFlight(r.err) {
			inFlight++
			t.Logf("in flight to the killed leader: %v", r.err)
			continue
		}
		t.Errorf("create refused while a replica lived (sent %s after the kill): %v", r.sent.Sub(killed), r.err)
	}
	if takeover > takeoverLimit {
		t.Errorf("takeover took %s, more than the lease duration %s and two jittered retry periods (%s)", takeover, leaseDuration, takeoverLimit)
	}
	s.listEntries(t, created)
	leader.start(t) // its Deployment starts the pod again
	twice := writtenByBoth(p.writes(t, start))
	ok := s.finish(t, fmt.Sprintf("2 leader failover %s (%d APIs)", set, n), start, 3*time.Minute, replicas...)
	tableMu.Lock()
	rows[len(rows)-1].note = fmt.Sprintf("takeover %.1fs; %d objects written by both replicas; creates lost in flight to the killed leader: %d", takeover.Seconds(), twice, inFlight)
	tableMu.Unlock()
	t.Logf("recovered %v; takeover %s; %d objects written by both replicas", ok, takeover, twice)
}

// replicaPair starts two replicas with leader election and extra flags, serving the
// webhooks behind one Service (strict: see service), and returns them, the Service and the
// replica that leads once the webhooks answer.
func replicaPair(t *testing.T, p *plane, ns string, strict bool, extra ...string) ([]*operator, *service, *operator) {
	t.Helper()
	args := append([]string{"--leader-elect", "--leader-election-namespace=default"}, extra...)
	replicas := []*operator{
		newOperator(t, p, "replica-a", args...).withWebhooks(t, p),
		newOperator(t, p, "replica-b", args...).withWebhooks(t, p),
	}
	svc := startService(t, p, replicas...)
	svc.mu.Lock()
	svc.strict = strict
	svc.mu.Unlock()
	for _, r := range replicas {
		r.start(t)
	}
	if err := harness.WaitForWebhook(context.Background(), p.Client, ns, harness.Wait); err != nil {
		t.Fatal(err)
	}
	return replicas, svc, awaitLeader(t, replicas, harness.Wait)
}

// creating is createSteadily running in the background.
type creating struct {
	start   time.Time
	wg      sync.WaitGroup
	created []*odav1.ExposedAPI
	refused chan refusal
}

// startCreating starts creating n APIs steadily and returns once leader converges them.
func startCreating(t *testing.T, p *plane, s *scene, leader *operator, n int) *creating {
	t.Helper()
	c := &creating{start: time.Now(), refused: make(chan refusal, n)}
	c.wg.Add(1)
	go func() { defer c.wg.Done(); c.created = createSteadily(s, n, c.refused) }()
	awaitWrites(t, p, leader.name, c.start, 10)
	return c
}

// wait waits for the last create and returns the APIs created and the creates refused.
func (c *creating) wait() ([]*odav1.ExposedAPI, []refusal) {
	c.wg.Wait()
	close(c.refused)
	var refused []refusal
	for r := range c.refused {
		refused = append(refused, r)
	}
	return c.created, refused
}

// lostInFlight tells whether a create's admission call failed on its connection to the
// killed leader. A create sent before the kill may have been routed to it, and the API
// server does not retry a POST whose call failed in flight, whatever the socket said: EOF,
// a reset, a broken pipe, or a connection its own side had just closed ("use of closed
// network connection"), all reported as "failed to call webhook". A reset may even arrive
// while the API server still connects: the Service accepts at once and resets the
// connection when the replica it passed it to does. A denial is not one, nor a call that
// could not connect for another reason (it reached no replica) or hung until its timeout.
func lostInFlight(err error) bool {
	msg := err.Error()
	if !strings.Contains(msg, "failed to call webhook") || strings.Contains(msg, "deadline exceeded") {
		return false
	}
	return !strings.Contains(msg, "dial tcp") || strings.Contains(msg, "connect: connection reset by peer")
}

// refusal is a create the API server refused, and when it was sent.
type refusal struct {
	sent time.Time
	err  error
}

// createSteadily creates n APIs, each on its own path, at about 100 a second, sending
// every refusal to refused.
func createSteadily(s *scene, n int, refused chan<- refusal) []*odav1.ExposedAPI {
	var created []*odav1.ExposedAPI
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for i := 0; i < n; i++ {
		<-tick.C
		a := s.api(s.namespaces[i%len(s.namespaces)], fmt.Sprintf("api-%04d", i), fmt.Sprintf("/api-%04d", i))
		sent := time.Now()
		if err := s.p.Client.Create(context.Background(), a); err != nil {
			refused <- refusal{sent, fmt.Errorf("%s/%s: %w", a.Namespace, a.Name, err)}
			continue
		}
		created = append(created, a)
	}
	return created
}

// awaitLeader waits until one of the replicas logs that it acquired the lease.
func awaitLeader(t *testing.T, replicas []*operator, timeout time.Duration) *operator {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		for _, r := range replicas {
			raw, err := os.ReadFile(r.logPath)
			if err == nil && strings.Contains(strings.ToLower(string(raw)), "successfully acquired lease") {
				return r
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, r := range replicas {
		raw, _ := os.ReadFile(r.logPath)
		t.Logf("%s log:\n%s", r.name, raw)
	}
	t.Fatalf("no replica acquired the lease within %s", timeout)
	return nil
}

// awaitWrites waits until user has made n writes since from: it is converging.
func awaitWrites(t *testing.T, p *plane, user string, from time.Time, n int) {
	t.Helper()
	harness.Eventually(t, user+" writing", func() error {
		got := 0
		for _, w := range p.writes(t, from) {
			if w.user == user {
				got++
			}
		}
		if got < n {
			return fmt.Errorf("%d writes", got)
		}
		return nil
	})
}

// writtenByBoth counts the objects that more than one user wrote: work done twice.
func writtenByBoth(writes []write) int {
	users := map[string]map[string]bool{}
	for _, w := range writes {
		key := w.resource + " " + w.object
		if users[key] == nil {
			users[key] = map[string]bool{}
		}
		users[key][w.user] = true
	}
	n := 0
	for _, u := range users {
		if len(u) > 1 {
			n++
		}
	}
	return n
}
