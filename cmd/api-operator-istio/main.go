// Command api-operator-istio exposes ODA Canvas ExposedAPIs through an Istio service mesh.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/go-logr/logr"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/oda-canvas/api-operator-istio/internal/app"
)

func main() {
	var o app.Options
	o.AddFlags(flag.CommandLine)
	flag.Parse()
	log, err := logger(&o)
	if err != nil {
		// Before there is a logger, as the flag package reports its own errors.
		fmt.Fprintln(os.Stderr, "api-operator-istio:", err)
		os.Exit(2)
	}
	if err := run(log, &o); err != nil {
		log.Error(err, "stopped")
		os.Exit(1)
	}
}

// logger is the operator's logger, set as the logger of everything that logs.
func logger(o *app.Options) (logr.Logger, error) {
	if err := o.Validate(); err != nil {
		return logr.Discard(), err
	}
	log, err := app.NewLogger(o)
	if err != nil {
		return log, err
	}
	ctrl.SetLogger(log)
	klog.SetLogger(log)
	app.RedirectStdLog(log)
	return log, nil
}

func run(log logr.Logger, o *app.Options) error {
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
	return app.Run(app.SignalContext(log, o.ShutdownDelay), cfg, o)
}

func restConfig(kubeconfig string) (*rest.Config, error) {
	if kubeconfig != "" {
		return clientcmd.BuildConfigFromFlags("", kubeconfig)
	}
	return ctrl.GetConfig()
}
