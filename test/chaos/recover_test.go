package chaos

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"
)

// idle is how long the operator must write nothing once converged.
var idle = time.Duration(sized(30, 5)) * time.Second

// await polls the invariants until they all hold or timeout passes, and returns the
// seconds since from and what was still wrong.
func (s *scene) await(t *testing.T, from time.Time, timeout time.Duration) (float64, map[string]string) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(timeout)
	for {
		bad, err := s.violations(ctx)
		if err == nil && len(bad) == 0 {
			return time.Since(from).Seconds(), nil
		}
		if err != nil {
			bad = map[string]string{"reading the cluster": err.Error()}
		}
		if time.Now().After(deadline) {
			return time.Since(from).Seconds(), bad
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// finish waits for the operators ops to converge after a fault that began at start, checks
// the quiet that must follow, and reports the fault's row. It returns whether it recovered.
func (s *scene) finish(t *testing.T, fault string, start time.Time, timeout time.Duration, ops ...*operator) bool {
	t.Helper()
	seconds, bad := s.await(t, start, timeout)
	r := row{fault: fault, seconds: seconds, lost: len(bad)}
	defer func() { r.writes = len(s.p.writes(t, start)); report(r) }()
	if len(bad) > 0 {
		t.Errorf("%s: not recovered after %.0fs; %d items wrong:\n%s", fault, seconds, len(bad), listed(bad, 20))
		return false
	}
	r.recovered = s.quiet(t, ops)
	return r.recovered
}

// quiet: once converged, the operators write nothing for the idle window and log no error.
func (s *scene) quiet(t *testing.T, ops []*operator) bool {
	t.Helper()
	offsets := make([]int64, len(ops))
	for i, o := range ops {
		offsets[i] = o.logSize(t)
	}
	from := time.Now()
	time.Sleep(s.idle)
	ok := true
	if w := s.p.writes(t, from); len(w) > 0 {
		t.Errorf("%d writes in the %s idle window after convergence, first: %+v", len(w), s.idle, w[0])
		ok = false
	}
	for i, o := range ops {
		if errs := o.errorsSince(t, offsets[i]); len(errs) > 0 {
			t.Errorf("%s logged %d errors after convergence, first: %s", o.name, len(errs), errs[0])
			ok = false
		}
	}
	return ok
}

// listed is the first n items of bad, sorted, one a line.
func listed(bad map[string]string, n int) string {
	keys := make([]string, 0, len(bad))
	for k := range bad {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := ""
	for i, k := range keys {
		if i == n {
			out += fmt.Sprintf("  ... and %d more\n", len(keys)-n)
			break
		}
		out += "  " + k + ": " + bad[k] + "\n"
	}
	return out
}
