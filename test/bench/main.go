// Command bench measures the operator on a local control plane (make bench): convergence
// at N ExposedAPIs against a plain client's floor, scaling, idle writes, memory, and
// admission latency. It prints one table and writes it to test/bench/RESULTS.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
)

type config struct {
	root, assets, binary string
	sizes                []int
	qps                  float64
	burst                int
	idle                 time.Duration
	extraPods            int
	webhookRequests      int
	concurrency          int
}

func main() {
	var c config
	var sizes string
	flag.StringVar(&c.root, "root", ".", "the repository")
	flag.StringVar(&sizes, "sizes", envOr("BENCH_SIZES", "100,500,1000,5000"), "numbers of ExposedAPIs (env BENCH_SIZES)")
	flag.Float64Var(&c.qps, "kube-api-qps", 50, "client QPS of the operator and of the floor client")
	flag.IntVar(&c.burst, "kube-api-burst", 100, "client burst of the operator and of the floor client")
	flag.DurationVar(&c.idle, "idle", 60*time.Second, "how long idle writes are counted after a full resync")
	flag.IntVar(&c.extraPods, "extra-pods", 5000, "unrelated pods and Services present for the memory figure")
	flag.IntVar(&c.webhookRequests, "webhook-requests", 2000, "admission requests per latency figure")
	flag.IntVar(&c.concurrency, "concurrency", 8, "concurrent admission requests")
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.Level(zapLevelError())))
	c.root, _ = filepath.Abs(c.root)
	c.assets = filepath.Join(c.root, "bin", "k8s")
	c.binary = filepath.Join(c.root, "bin", "api-operator-istio")
	for _, s := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			fmt.Fprintf(os.Stderr, "bench: bad size %q\n", s)
			os.Exit(2)
		}
		c.sizes = append(c.sizes, n)
	}
	res, err := run(context.Background(), c)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	table := res.table(c)
	fmt.Print(table)
	out := filepath.Join(c.root, "test", "bench", "RESULTS.md")
	header := fmt.Sprintf("# Benchmark results\n\n%s, %d cores (GOMAXPROCS %d), %s\n\n", time.Now().UTC().Format("2006-01-02"),
		runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version())
	if err := os.WriteFile(out, []byte(header+table), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
