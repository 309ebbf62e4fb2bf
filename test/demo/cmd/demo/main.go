// Command demo runs the operator on a local control plane with the samples (make demo).
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/oda-canvas/api-operator-istio/test/demo"
)

func main() {
	exit := flag.Bool("exit", envTrue("DEMO_EXIT"), "stop once the table is printed (env DEMO_EXIT)")
	root := flag.String("root", ".", "the repository")
	logFile := flag.String("log", "", "file for the operator's logs (default: not kept)")
	routeAPI := flag.String("route-api", os.Getenv("DEMO_ROUTE_API"), "the operator's --route-api: VirtualService (default) or HTTPRoute (env DEMO_ROUTE_API)")
	flag.Parse()
	if abs, err := filepath.Abs(*root); err == nil {
		*root = abs
	}
	o := demo.Options{Root: *root, Assets: filepath.Join(*root, "bin", "k8s"), Exit: *exit, RouteAPI: *routeAPI}
	if *logFile != "" {
		f, err := os.Create(*logFile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "demo:", err)
			os.Exit(1)
		}
		defer f.Close()
		o.Log = f
	}
	if _, err := demo.Run(ctrl.SetupSignalHandler(), o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

// envTrue tells whether the environment variable is set to something other than a false
// value (0, false, as strconv reads them).
func envTrue(name string) bool {
	v := os.Getenv(name)
	on, err := strconv.ParseBool(v)
	return v != "" && (err != nil || on)
}
