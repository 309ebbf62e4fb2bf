package chaos

import (
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"
)

// service stands for the webhook Service in front of the replicas: it takes the port the
// webhook configurations point at and passes each connection on to a replica that accepts
// it, starting with the next in turn, as kube-proxy spreads connections over the ready
// endpoints. A replica that is gone refuses the connection, and the next one is tried.
type service struct {
	l        net.Listener
	mu       sync.Mutex
	backends []string
	next     int
	// strict sends each connection to the backend in turn and nowhere else, refused or not,
	// as kube-proxy does until it has seen an endpoint withdrawn; withdrawn backends get
	// no new connections (established ones stay, as conntrack keeps them).
	strict    bool
	withdrawn map[string]bool
}

// withdraw stops sending new connections to backend.
func (s *service) withdraw(backend string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.withdrawn == nil {
		s.withdrawn = map[string]bool{}
	}
	s.withdrawn[backend] = true
}

// candidates are the backends a new connection may go to, in the order to try them.
func (s *service) candidates() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	first := s.next
	s.next++
	for i := range s.backends {
		b := s.backends[(first+i)%len(s.backends)]
		if !s.withdrawn[b] {
			out = append(out, b)
		}
	}
	if s.strict && len(out) > 1 {
		out = out[:1]
	}
	return out
}

func startService(t *testing.T, p *plane, replicas ...*operator) *service {
	t.Helper()
	host, port, _ := p.WebhookServing()
	l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		t.Fatal(err)
	}
	s := &service{l: l}
	for _, r := range replicas {
		s.backends = append(s.backends, net.JoinHostPort(host, strconv.Itoa(r.webhookPort)))
	}
	t.Cleanup(func() { _ = l.Close() })
	go s.serve()
	return s
}

func (s *service) serve() {
	for {
		c, err := s.l.Accept()
		if err != nil {
			return
		}
		go s.pass(c)
	}
}

func (s *service) pass(c net.Conn) {
	defer c.Close()
	for _, backend := range s.candidates() {
		b, err := net.DialTimeout("tcp", backend, time.Second)
		if err != nil {
			continue
		}
		go func() { _, _ = io.Copy(b, c); _ = b.Close() }()
		if _, err := io.Copy(c, b); err != nil {
			_ = c.(*net.TCPConn).SetLinger(0) // the replica reset it: so does the Service
		}
		_ = b.Close()
		return
	}
}
