package main

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// operatorProcess is the operator binary running against the plane.
type operatorProcess struct {
	cmd         *exec.Cmd
	metricsAddr string
	done        chan struct{}
}

func startOperator(c config, p *plane, args ...string) (*operatorProcess, error) {
	port, err := harness.NewPort()
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	all := append([]string{"--kubeconfig", p.kubeconfig, "--metrics-bind-address", addr, "--health-probe-bind-address", "0",
		"--log-level", "error"}, args...)
	cmd := exec.Command(c.binary, all...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	op := &operatorProcess{cmd: cmd, metricsAddr: addr, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(op.done) }()
	return op, nil
}

// stop interrupts the operator: SIGINT stops it at once, where SIGTERM would keep its
// webhooks serving for --shutdown-delay (5 s) while a Service withdrew it, which here only
// added a minute to make bench over its dozen runs.
func (o *operatorProcess) stop() {
	_ = o.cmd.Process.Signal(os.Interrupt)
	select {
	case <-o.done:
	case <-time.After(20 * time.Second):
		_ = o.cmd.Process.Kill()
		<-o.done
	}
}

// requests sums the operator's own client metrics: reads (GET) and writes (the rest).
func (o *operatorProcess) requests() (reads, writes float64, err error) {
	err = o.scrape(func(name, labels string, v float64) {
		if name != "rest_client_requests_total" {
			return
		}
		if strings.Contains(labels, `method="GET"`) {
			reads += v
		} else {
			writes += v
		}
	})
	return reads, writes, err
}

// reconciles sums controller_runtime_reconcile_total by controller and result, and
// workqueue_retries_total by queue, as "exposedapi success 5000, component delayed adds
// 12, ...": controller-runtime's priority queue counts as a retry every add with a delay,
// which is how the Component controller gathers the changes of its APIs into few writes,
// not only a backoff after an error.
func (o *operatorProcess) reconciles() (string, error) {
	counts := map[string]float64{}
	err := o.scrape(func(name, labels string, v float64) {
		switch name {
		case "controller_runtime_reconcile_total":
			c, _ := label(labels, "controller")
			r, _ := label(labels, "result")
			if v > 0 {
				counts[c+" "+r] += v
			}
		case "workqueue_retries_total":
			q, _ := label(labels, "name")
			if v > 0 {
				counts[q+" delayed adds"] += v
			}
		}
	})
	var parts []string
	for k, v := range counts {
		parts = append(parts, fmt.Sprintf("%s %.0f", k, v))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", "), err
}

// heap is go_memstats_heap_alloc_bytes.
func (o *operatorProcess) heap() (float64, error) {
	var h float64
	err := o.scrape(func(name, _ string, v float64) {
		if name == "go_memstats_heap_alloc_bytes" {
			h = v
		}
	})
	return h, err
}

// memoryBreakdown is where the resident memory is: the Go runtime's own accounts and the
// kernel's (anonymous and file-backed pages), for the log.
func (o *operatorProcess) memoryBreakdown() string {
	var parts []string
	_ = o.scrape(func(name, _ string, v float64) {
		switch name {
		case "go_memstats_heap_alloc_bytes", "go_memstats_heap_inuse_bytes", "go_memstats_heap_idle_bytes", "go_memstats_heap_released_bytes",
			"go_memstats_next_gc_bytes", "go_memstats_stack_inuse_bytes", "go_memstats_sys_bytes", "go_memstats_other_sys_bytes",
			"go_memstats_mspan_inuse_bytes", "go_memstats_buck_hash_sys_bytes", "go_memstats_gc_sys_bytes":
			parts = append(parts, fmt.Sprintf("%s %.1f", strings.TrimSuffix(strings.TrimPrefix(name, "go_memstats_"), "_bytes"), v/mib))
		}
	})
	for _, f := range []string{"RssAnon", "RssFile"} {
		if v, err := o.memory(f); err == nil {
			parts = append(parts, fmt.Sprintf("%s %.1f", f, v/mib))
		}
	}
	return strings.Join(parts, ", ") + " (MiB)"
}

func (o *operatorProcess) scrape(fn func(name, labels string, v float64)) error {
	resp, err := http.Get("http://" + o.metricsAddr + "/metrics")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return parseMetrics(resp.Body, fn)
}

// parseMetrics reads the Prometheus text format: name, label set and value of each sample.
func parseMetrics(r io.Reader, fn func(name, labels string, v float64)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		name, labels := line[:i], ""
		if j := strings.IndexByte(name, '{'); j >= 0 {
			name, labels = name[:j], name[j:]
		}
		fn(name, labels, v)
	}
	return sc.Err()
}

// memory is a field of /proc/<pid>/status in bytes: VmRSS (resident now) or VmHWM (peak).
func (o *operatorProcess) memory(field string) (float64, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", o.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(line, field+":") {
			f := strings.Fields(line)
			kb, err := strconv.ParseFloat(f[1], 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("no %s", field)
}

// waitMetrics waits until the metrics endpoint answers.
func (o *operatorProcess) waitMetrics() error {
	for i := 0; i < 200; i++ {
		if _, _, err := o.requests(); err == nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("the operator's metrics endpoint did not answer")
}

// quiet waits until the operator has made no write for d (at most a minute): what it
// reconciles from one measured run does not load the next.
func (o *operatorProcess) quiet(d time.Duration) error {
	_, last, err := o.requests()
	for since, deadline := time.Now(), time.Now().Add(time.Minute); time.Since(since) < d && time.Now().Before(deadline); {
		time.Sleep(200 * time.Millisecond)
		_, w, err := o.requests()
		if err != nil {
			return err
		}
		if w != last {
			last, since = w, time.Now()
		}
	}
	return err
}

// waits says where the ExposedAPI controller's time went during a run of wall: how busy its
// workers were and how long a request waited in its queue. Workers busy and a long wait
// mean the operator's own concurrency bounds it; idle workers, its events.
func (o *operatorProcess) waits(wall time.Duration) (string, error) {
	var busy, workers, queued, queuedN float64
	err := o.scrape(func(name, labels string, v float64) {
		c, _ := label(labels, "controller")
		q, _ := label(labels, "name")
		switch {
		case name == "controller_runtime_reconcile_time_seconds_sum" && c == "exposedapi":
			busy = v
		case name == "controller_runtime_max_concurrent_reconciles" && c == "exposedapi":
			workers = v
		case name == "workqueue_queue_duration_seconds_sum" && q == "exposedapi":
			queued = v
		case name == "workqueue_queue_duration_seconds_count" && q == "exposedapi":
			queuedN = v
		}
	})
	if workers == 0 || queuedN == 0 {
		return "", err
	}
	return fmt.Sprintf("workers busy %.0f%% of %.0f; mean queue wait %.0f ms", 100*busy/(wall.Seconds()*workers), workers, 1000*queued/queuedN), err
}
