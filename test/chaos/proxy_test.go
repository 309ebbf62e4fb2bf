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
	s.mu.Lock()
	first := s.next
	s.next++
	s.mu.Unlock()
	for i := range s.backends {
		b, err := net.DialTimeout("tcp", s.backends[(first+i)%len(s.backends)], time.Second)
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
