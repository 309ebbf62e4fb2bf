package main

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"go.uber.org/zap/zapcore"
)

func zapLevelError() zapcore.Level { return zapcore.ErrorLevel }

const mib = 1 << 20

// tableWriter writes the figures as Markdown rows: figure, value, target, met.
type tableWriter struct{ b strings.Builder }

func (t *tableWriter) row(figure, value, target string, met *bool) {
	m := "-"
	if met != nil {
		m = yes(*met)
	}
	fmt.Fprintf(&t.b, "| %s | %s | %s | %s |\n", figure, value, target, m)
}

func check(ok bool) *bool { return &ok }

func (r *result) table(c config) string {
	t := &tableWriter{}
	settings := "its default settings (no client-side rate limit)"
	if c.operatorFlags != "" {
		settings = "its default settings and " + c.operatorFlags
	}
	fmt.Fprintf(&t.b, "The operator runs with %s as a service account; the floor "+
		"is a plain client with the same identity and no limit, on the same control plane in the same run. %d unrelated pods "+
		"and Services present.\n\n| figure | value | target | met |\n| --- | --- | --- | --- |\n", settings, c.extraPods)
	r.convergenceRows(t)
	r.fairnessRows(t)
	r.sweepRows(t)
	r.admissionRows(t, c)
	return t.b.String()
}

func (r *result) convergenceRows(t *tableWriter) {
	times, floors := map[int]time.Duration{}, map[int]time.Duration{}
	for _, cv := range r.conv {
		ratio := cv.operator.Seconds() / cv.floor.Seconds()
		target, met := "-", (*bool)(nil)
		if cv.n == 1000 || cv.n == 5000 {
			target, met = "<= 1.2x floor", check(ratio <= 1.2)
		}
		how := ""
		if cv.rounds > 1 {
			how = fmt.Sprintf(" (medians of %d rounds)", cv.rounds)
		}
		t.row(fmt.Sprintf("convergence N=%d: operator (defaults) / floor%s", cv.n, how), fmt.Sprintf("%s (%.0f APIs/s) / %s: **%.2fx**",
			secs(cv.operator), float64(cv.n)/cv.operator.Seconds(), secs(cv.floor), ratio), target, met)
		if len(cv.roundRatios) > 1 {
			t.row(fmt.Sprintf("N=%d: each round, the operator over that round's own floor", cv.n), ratios(cv.roundRatios), "-", nil)
		}
		h2hRows(t, cv)
		if cv.floor64 > 0 {
			order := ""
			if cv.wideAfter {
				order = fmt.Sprintf("; the %d before the operator's run, the %d after it, on as many APIs of a namespace of their own", floorInFlight, wideFloorInFlight)
			}
			t.row(fmt.Sprintf("N=%d: the floor with %d / %d APIs in flight (the faster is the floor above%s)", cv.n, floorInFlight, wideFloorInFlight, order),
				fmt.Sprintf("%s / %s", secs(cv.floor16), secs(cv.floor64)), "-", nil)
		}
		if cv.floorEvents > 0 {
			t.row(fmt.Sprintf("N=%d: the floor with an Event per API (3 writes)", cv.n), fmt.Sprintf("%s: %.2fx the 2-write floor",
				secs(cv.floorEvents), cv.floorEvents.Seconds()/cv.floor.Seconds()), "-", nil)
		}
		t.row(fmt.Sprintf("N=%d: operator's requests per API; peak RSS", cv.n), fmt.Sprintf("%.2f reads, %.2f writes (floor: 2 writes); %.0f MiB",
			cv.reads, cv.writes, cv.peakRSS/mib), "-", nil)
		if cv.operatorServed.requests != nil && cv.floorServed.requests != nil {
			t.row(fmt.Sprintf("N=%d: API server requests during the operator's run beyond the floor's; watch events sent, operator / floor", cv.n),
				fmt.Sprintf("%s; %.1f MB / %.1f MB", cv.operatorServed.beyond(cv.floorServed), cv.operatorServed.watchMB(), cv.floorServed.watchMB()), "-", nil)
		}
		if cv.reconciles != "" {
			t.row(fmt.Sprintf("N=%d: operator's reconciles by result; work queue delayed adds (workqueue_retries_total)", cv.n), cv.reconciles, "-", nil)
		}
		if cv.operatorCPU.total() > 0 {
			t.row(fmt.Sprintf("N=%d: CPU used during the run: floor / operator", cv.n), fmt.Sprintf("%s / %s", cv.floorCPU, cv.operatorCPU), "-", nil)
		}
		if cv.waits != "" {
			t.row(fmt.Sprintf("N=%d: operator's first API converged after; its last; its ExposedAPI workers", cv.n),
				fmt.Sprintf("%s; %s; %s", secs(cv.firstAPI), secs(cv.allAPIs), cv.waits), "-", nil)
		}
		times[cv.n], floors[cv.n] = cv.operator, cv.floor
	}
	if times[500] > 0 && times[5000] > 0 {
		s := times[5000].Seconds() / times[500].Seconds()
		t.row("scaling time(5000)/time(500): operator (the floor's own)", fmt.Sprintf("%.2f (%.2f)", s,
			floors[5000].Seconds()/floors[500].Seconds()), "<= 11", check(s <= 11))
	}
}

// ratios lists rs as "1.10x, 1.32x".
func ratios(rs []float64) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = fmt.Sprintf("%.2fx", r)
	}
	return strings.Join(s, ", ")
}

func (r *result) fairnessRows(t *tableWriter) {
	f := r.fairness
	if f.idle.requests == 0 {
		return
	}
	for _, k := range []struct {
		what string
		pick func(other) latency
	}{{"GET namespace every 100 ms", func(o other) latency { return o.reads }}, {"ConfigMap create+delete every 200 ms", func(o other) latency { return o.writes }}} {
		idle, fl, op := k.pick(f.idle), k.pick(f.floor), k.pick(f.operator)
		ratio := op.p99Over(idle)
		t.row("other client, "+k.what+": idle (the quieter of two windows) / floor N="+fmt.Sprint(f.n)+" / **operator N="+fmt.Sprint(f.n)+"**",
			fmt.Sprintf("p50 %s / %s / %s; p99 %s / %s / **%s (%.2fx idle)**", ms(idle.p50), ms(fl.p50), ms(op.p50),
				ms(idle.p99), ms(fl.p99), ms(op.p99), ratio), "p99 <= 3x idle", check(ratio <= 3))
	}
	t.row(fmt.Sprintf("APF priority level %s (operator's and other client's) during the operator's run", priorityLevel), f.apf.String(), "-", nil)
	r.ownLevelRows(t)
	t.row("other client: requests / errors (idle, floor, operator)", fmt.Sprintf("%d/%d, %d/%d, %d/%d", f.idle.requests, f.idle.errs,
		f.floor.requests, f.floor.errs, f.operator.requests, f.operator.errs), "no errors", check(f.idle.errs+f.floor.errs+f.operator.errs == 0))
}

// ownLevelRows are the operator's run in the chart's flowControl priority level: its
// convergence, and the other client's latency beside it.
func (r *result) ownLevelRows(t *tableWriter) {
	l, f := r.ownLevel, r.fairness
	if l == nil {
		return
	}
	var floor time.Duration
	for _, cv := range r.conv {
		if cv.n == f.n {
			floor = cv.floor
		}
	}
	t.row(fmt.Sprintf("convergence N=%d with the chart's flowControl (own priority level, nominalConcurrencyShares %d): operator / floor", f.n, l.shares),
		fmt.Sprintf("%s / %s: %.2fx", secs(l.conv.operator), secs(floor), l.conv.operator.Seconds()/floor.Seconds()), "-", nil)
	for _, k := range []struct {
		what string
		pick func(other) latency
	}{{"GET namespace", func(o other) latency { return o.reads }}, {"ConfigMap create+delete", func(o other) latency { return o.writes }}} {
		idle, own := k.pick(f.idle), k.pick(l.other)
		ratio := own.p99Over(idle)
		t.row("other client, "+k.what+", while the operator converges in its own priority level",
			fmt.Sprintf("p50 %s; p99 **%s (%.2fx idle)**", ms(own.p50), ms(own.p99), ratio), "p99 <= 3x idle", check(ratio <= 3))
	}
	t.row(fmt.Sprintf("APF priority level %s during that run; other client's requests / errors", operatorAccount),
		fmt.Sprintf("%s; %d/%d", l.apf, l.other.requests, l.other.errs), "no errors", check(l.other.errs == 0))
}

func (r *result) admissionRows(t *tableWriter, c config) {
	t.row(fmt.Sprintf("writes in %s after a full resync", c.idle), fmt.Sprintf("%.0f", r.idleWrites), "0", check(r.idleWrites == 0))
	total := 0
	for _, cv := range r.conv {
		total += cv.n
	}
	t.row(fmt.Sprintf("operator RSS after a full resync (%d APIs, all namespaces); peak; Go heap", total),
		fmt.Sprintf("%.0f MiB; %.0f MiB; %.0f MiB", r.rss/mib, r.peakRSS/mib, r.heap/mib), "<= 150 MiB", check(r.rss <= 150*mib))
	a := r.admission
	t.row(fmt.Sprintf("webhook handlers called directly, concurrency %d", c.concurrency), lat(a.direct), "p99 <= 5 ms", check(a.direct.p99 <= 5*time.Millisecond))
	t.row(fmt.Sprintf("%d creates one after another in each of two namespaces, alternating, the webhooks served by a replica that is not the leader (it reconciles nothing): without / with webhooks",
		c.admissionCreates), lat(a.seq)+" / "+lat(a.seqHook), "-", nil)
	d50, d99 := a.seqHook.p50-a.seq.p50, a.seqHook.p99-a.seq.p99
	t.row("**added by the webhooks, one after another**", fmt.Sprintf("p50 %s, p99 %s", ms(d50), ms(d99)), "p50 <= 5 ms, p99 <= 20 ms",
		check(d50 <= 5*time.Millisecond && d99 <= 20*time.Millisecond))
	t.row(fmt.Sprintf("the same at concurrency %d: without / with webhooks", c.concurrency), lat(a.con)+" / "+lat(a.conHook), "-", nil)
	t.row(fmt.Sprintf("added by the webhooks, concurrency %d", c.concurrency), fmt.Sprintf("p50 %s, p99 %s", ms(a.conHook.p50-a.con.p50),
		ms(a.conHook.p99-a.con.p99)), "-", nil)
	t.row("the tail, one after another: handler p99 (server histogram); connections on the webhook port after; operator GC cycles",
		fmt.Sprintf("%s; %s; %.0f", a.handlerP99, states(a.conns), a.gcCycles), "-", nil)
	if a.busy.p50 == 0 {
		return
	}
	t.row("one after another again, the replica the leader and reconciling each API created on the API server's two cores: without / with webhooks",
		lat(a.busy)+" / "+lat(a.busyHook), "-", nil)
	t.row("added by the webhooks then", fmt.Sprintf("p50 %s, p99 %s", ms(a.busyHook.p50-a.busy.p50), ms(a.busyHook.p99-a.busy.p99)), "-", nil)
}

func states(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	var out []string
	for k, v := range m {
		out = append(out, fmt.Sprintf("%d %s", v, k))
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

func lat(l latency) string { return fmt.Sprintf("p50 %s, p99 %s", ms(l.p50), ms(l.p99)) }

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

func secs(d time.Duration) string { return fmt.Sprintf("%.1f s", d.Seconds()) }

func yes(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}
