// Command bench measures the operator on a local control plane (make bench): convergence
// at N ExposedAPIs against a plain client's floor, scaling, idle writes, memory, and
// admission latency. It prints one table and writes it to test/bench/RESULTS.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
)

type config struct {
	root, assets, binary string
	sizes                []int
	fairnessN            int
	ownLevel             bool
	rounds               int
	apfShares            int
	idleWindow           time.Duration
	sweep                []int
	sweepN               int
	idle                 time.Duration
	extraPods            int
	webhookRequests      int
	admissionCreates     int
	concurrency          int
	admissionBusy        bool
	apiserverProfileN    int
	operatorFlags        string
	apiserverProfileSecs int
	h2hSizes             []int
	h2hRounds            int
}

func main() {
	var c config
	var sizes, sweepQPS, h2hSizes string
	flag.StringVar(&c.root, "root", ".", "the repository")
	flag.StringVar(&sizes, "sizes", envOr("BENCH_SIZES", "500,1000,5000"), "numbers of ExposedAPIs (env BENCH_SIZES)")
	flag.IntVar(&c.fairnessN, "fairness-size", 5000, "the size at which another client's latency is measured and drawn")
	flag.IntVar(&c.rounds, "rounds", 3, "rounds of the floor and operator runs below the fairness size, each figure their median")
	flag.BoolVar(&c.ownLevel, "own-level", false, "also converge the fairness size with the chart's flowControl (the operator in its own APF priority level)")
	flag.IntVar(&c.apfShares, "apf-shares", 0, "nominalConcurrencyShares for that run; 0: the chart's default")
	flag.DurationVar(&c.idleWindow, "fairness-idle", 20*time.Second, "how long the other client runs on the idle plane, before the fairness size's floor and again at the end of the idle-writes window (at most half of it)")
	flag.StringVar(&sweepQPS, "fairness-sweep", "25", "client-side limits (--kube-api-qps; 0: none) at which the operator converges fresh APIs beside the other client, e.g. '0,100,50,25'; empty skips it")
	flag.IntVar(&c.sweepN, "fairness-sweep-size", 500, "the size of each fairness sweep run")
	flag.DurationVar(&c.idle, "idle", 60*time.Second, "how long idle writes are counted after a full resync")
	flag.IntVar(&c.extraPods, "extra-pods", 5000, "unrelated pods and Services present for the memory figure")
	flag.IntVar(&c.webhookRequests, "webhook-requests", 2000, "admission requests to the handlers called directly")
	flag.IntVar(&c.admissionCreates, "admission-creates", 300, "ExposedAPI creates per admission figure")
	flag.IntVar(&c.concurrency, "concurrency", 8, "concurrent admission requests")
	flag.BoolVar(&c.admissionBusy, "admission-busy", false, "also time the creates one after another with the webhooks' replica the leader, reconciling each API (about 35 s)")
	flag.IntVar(&c.apiserverProfileN, "apiserver-profile", 0, "the size at which the API server's CPU is profiled during the floor's and the operator's first runs (bin/bench-apiserver-*.pprof); 0: none")
	flag.IntVar(&c.apiserverProfileSecs, "apiserver-profile-seconds", 15, "how long each API server profile lasts; the bench waits for it to end before going on")
	flag.StringVar(&c.operatorFlags, "operator-flags", "", "flags added to the operator's convergence runs (the table says so); empty: its defaults")
	flag.StringVar(&h2hSizes, "head-to-head", "1000,5000", "the sizes at which the operator and the floor are also timed started together, each on APIs of its own namespace; empty: none")
	flag.IntVar(&c.h2hRounds, "head-to-head-rounds", 2, "rounds of the head-to-head runs below the fairness size, the namespaces swapped each round; at the fairness size one")
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.Level(zapLevelError())))
	c.root, _ = filepath.Abs(c.root)
	c.assets = filepath.Join(c.root, "bin", "k8s")
	c.binary = filepath.Join(c.root, "bin", "api-operator-istio")
	if err := c.parseLists(sizes, h2hSizes, sweepQPS, flagSet("head-to-head")); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	load := loadAverage()
	res, err := run(context.Background(), c)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	table := res.table(c)
	fmt.Print(table)
	if c.operatorFlags != "" {
		say("not written to test/bench/RESULTS.md: the operator ran with --operator-flags, not its defaults")
		return
	}
	dir := filepath.Join(c.root, "test", "bench")
	header := fmt.Sprintf("# Benchmark results\n\n%s, %d cores (GOMAXPROCS %d), %s, load average %s when it began.\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version(), load)
	if err := os.WriteFile(filepath.Join(dir, "RESULTS.md"), []byte(header+table), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	if len(res.picture.operator) > 0 {
		// The idle baseline is final only after the full resync's second window (idleAgain).
		pic := res.picture
		pic.idleRead, pic.idleWrt = res.fairness.idle.reads, res.fairness.idle.writes
		if err := writeSVG(filepath.Join(dir, "convergence.svg"), pic); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		say("picture: %s", filepath.Join(dir, "convergence.svg"))
	}
}

// loadAverage is the one-minute load average (the machine may be shared).
func loadAverage() string {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Fields(string(raw))[0]
}

// parseLists reads the flags that are lists of numbers. Head-to-head sizes given on the
// command line must be among the sizes; the default's are timed where they are.
func (c *config) parseLists(sizes, h2hSizes, sweepQPS string, h2hGiven bool) error {
	var err error
	if c.sizes, err = parseInts("size", sizes, 1); err != nil {
		return err
	}
	if len(c.sizes) == 0 {
		return errors.New("no sizes: want numbers of ExposedAPIs, e.g. 500,1000")
	}
	if c.h2hSizes, err = parseInts("head-to-head size", h2hSizes, 1); err != nil {
		return err
	}
	for _, n := range c.h2hSizes {
		if h2hGiven && !slices.Contains(c.sizes, n) {
			return fmt.Errorf("head-to-head size %d is not one of the sizes %v: it would not be timed", n, c.sizes)
		}
	}
	c.sweep, err = parseInts("QPS in the fairness sweep (0: no limit)", sweepQPS, 0)
	return err
}

// parseInts reads a list of numbers of at least least, e.g. "500, 1000"; empty is none.
func parseInts(what, s string, least int) ([]int, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < least {
			return nil, fmt.Errorf("bad %s %q: want a number >= %d", what, strings.TrimSpace(f), least)
		}
		out = append(out, n)
	}
	return out, nil
}

// flagSet tells whether the command line gave the flag name.
func flagSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
