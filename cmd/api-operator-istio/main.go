// Command api-operator-istio exposes ODA Canvas ExposedAPIs through an Istio service mesh.
package main

import (
	"flag"
	"fmt"
	"os"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/oda-canvas/api-operator-istio/internal/app"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "api-operator-istio:", err)
		os.Exit(1)
	}
}

func run() error {
	var o app.Options
	o.AddFlags(flag.CommandLine)
	flag.Parse()
	if err := o.Validate(); err != nil {
		return err
	}
	log, err := app.NewLogger(&o)
	if err != nil {
		return err
	}
	ctrl.SetLogger(log)
	klog.SetLogger(log)
	app.RedirectStdLog(log)
	memLimit, err := app.SetMemoryLimit(os.Getenv)
	if err != nil {
		return err
	}
	gcPercent := app.SetGCPercent(os.Getenv)
	cfg, err := restConfig(o.Kubeconfig)
	if err != nil {
		return fmt.Errorf("loading the kubeconfig: %w", err)
	}
	log.Info("starting", "namespaces", o.Namespaces, "componentGateway", o.ComponentGateway,
		"publicHostname", o.PublicHostname, "openmetricsImplementation", o.OpenMetricsImplementation, "goMemoryLimit", memLimit, "goGCPercent", gcPercent)
	return app.Run(ctrl.SetupSignalHandler(), cfg, &o)
}

func restConfig(kubeconfig string) (*rest.Config, error) {
	if kubeconfig != "" {
		return clientcmd.BuildConfigFromFlags("", kubeconfig)
	}
	return ctrl.GetConfig()
}
