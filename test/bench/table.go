package main

import (
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap/zapcore"
)

func zapLevelError() zapcore.Level { return zapcore.ErrorLevel }

func (r *result) table(c config) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("Client QPS/burst (operator and floor): %g/%d. %d unrelated pods and Services present.\n\n", c.qps, c.burst, c.extraPods)
	w("| figure | value | target | met |\n| --- | --- | --- | --- |\n")
	times := map[int]time.Duration{}
	for _, cv := range r.conv {
		ratio := cv.operator.Seconds() / cv.floor.Seconds()
		target, met := "-", "-"
		if cv.n == 1000 || cv.n == 5000 {
			target, met = "<= 1.3x floor", yes(ratio <= 1.3)
		}
		w("| convergence N=%d | %s (%.0f APIs/s); floor %s; ratio %.2f | %s | %s |\n", cv.n, cv.operator.Round(time.Millisecond),
			float64(cv.n)/cv.operator.Seconds(), cv.floor.Round(time.Millisecond), ratio, target, met)
		w("| API server requests per ExposedAPI, N=%d | %.2f reads, %.2f writes (floor: %.0f writes) | - | - |\n", cv.n, cv.reads, cv.writes, cv.floorWritesPerAPI)
		times[cv.n] = cv.operator
	}
	if times[500] > 0 && times[5000] > 0 {
		s := times[5000].Seconds() / times[500].Seconds()
		w("| scaling time(5000)/time(500) | %.2f | <= 11 | %s |\n", s, yes(s <= 11))
	}
	w("| writes in %s after a full resync | %.0f | 0 | %s |\n", c.idle, r.idleWrites, yes(r.idleWrites == 0))
	w("| operator RSS after convergence, N=%d | %.0f MiB | <= 150 MiB | %s |\n", r.largest, r.rss/(1<<20), yes(r.rss <= 150*(1<<20)))
	w("| operator Go heap after convergence, N=%d | %.0f MiB | - | - |\n", r.largest, r.heap/(1<<20))
	w("| webhook direct (defaulter + validator), concurrency %d | p50 %s, p99 %s | p99 <= 5ms | %s |\n", c.concurrency,
		r.direct.p50.Round(time.Microsecond), r.direct.p99.Round(time.Microsecond), yes(r.direct.p99 <= 5*time.Millisecond))
	w("| create through the API server with the webhooks | p50 %s, p99 %s | - | - |\n", r.viaAPI.p50.Round(time.Microsecond), r.viaAPI.p99.Round(time.Microsecond))
	w("| create through the API server without webhooks | p50 %s, p99 %s | - | - |\n", r.viaAPINoHook.p50.Round(time.Microsecond), r.viaAPINoHook.p99.Round(time.Microsecond))
	return b.String()
}

func yes(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}
