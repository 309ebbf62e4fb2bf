package main

import (
	"context"
	"fmt"
	"time"

	"github.com/oda-canvas/api-operator-istio/internal/app"
)

// limited is the operator converging with one client-side limit while the other client
// runs: what a limit buys the other clients, and what it costs the operator.
type limited struct {
	qps   int // 0: no limit
	conv  convergence
	other other
}

// sweep converges c.sweepN fresh APIs once per limit in c.sweep, the other client beside
// each run; idle is the other client's latency on the idle plane, measured first if the
// fairness size did not.
func sweep(ctx context.Context, p *plane, c config, idle *other) ([]limited, error) {
	if idle.requests == 0 {
		say("fairness sweep: the other client on the idle plane for %s", c.idleWindow)
		o, err := otherAlone(ctx, p, c.idleWindow)
		if err != nil {
			return nil, err
		}
		*idle = o
	}
	var out []limited
	for _, q := range c.sweep {
		l, err := limitedRun(ctx, p, c, q)
		if err != nil {
			return out, err
		}
		out = append(out, l)
	}
	return out, nil
}

func limitedRun(ctx context.Context, p *plane, c config, qps int) (limited, error) {
	n, ns := c.sweepN, fmt.Sprintf("bench-sweep-%d-qps-%d", c.sweepN, qps)
	say("N=%d: fixtures for the operator with %s", n, qpsName(qps))
	if _, err := fixtures(ctx, p, ns, n); err != nil {
		return limited{}, err
	}
	say("N=%d: the operator with %s beside the other client", n, qpsName(qps))
	var args []string // the defaults: no limit
	if qps > 0 {
		args = []string{fmt.Sprintf("--kube-api-qps=%d", qps)} // and the operator's default burst
	}
	conv, o, _, err := besideOther(ctx, p, c, ns, n, args...)
	l := limited{qps: qps, conv: conv, other: o}
	if err == nil {
		say("N=%d with %s: %s; other client's p99 %s (GET), %s (ConfigMap)", n, qpsName(qps),
			conv.operator.Round(time.Millisecond), ms(l.other.reads.p99), ms(l.other.writes.p99))
	}
	return l, err
}

func qpsName(q int) string {
	if q == 0 {
		return "no limit"
	}
	_, burst := (&app.Options{KubeAPIQPS: float64(q)}).RateLimit()
	return fmt.Sprintf("--kube-api-qps=%d (burst %d)", q, burst)
}

// sweepRows show, per limit, the convergence and the other client's p99 against idle: the
// limit an admin sets to keep the others within 3x.
func (r *result) sweepRows(t *tableWriter) {
	idle := r.sweepIdle
	for _, l := range r.sweep {
		rd, wr := l.other.reads.p99Over(idle.reads), l.other.writes.p99Over(idle.writes)
		t.row(fmt.Sprintf("fairness sweep N=%d, the operator with %s: converged in; other client's p99 GET / ConfigMap (x idle)",
			l.conv.n, qpsName(l.qps)), fmt.Sprintf("%s (%.0f APIs/s); %s (%.1fx) / %s (%.1fx)", secs(l.conv.operator),
			float64(l.conv.n)/l.conv.operator.Seconds(), ms(l.other.reads.p99), rd, ms(l.other.writes.p99), wr),
			"p99 <= 3x idle", check(rd <= 3 && wr <= 3))
	}
}
