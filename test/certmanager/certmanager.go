// Package certmanager runs cert-manager inside a test process: the controllers that issue a
// Certificate from a self-signed or CA Issuer, and the CA injector. cert-manager publishes
// no Go module for its binaries, so this starts its controller packages the way its own
// main does, against a test control plane.
package certmanager

import (
	"context"
	"fmt"
	"testing"
	"time"

	cmscheme "github.com/cert-manager/cert-manager/pkg/client/clientset/versioned/scheme"
	controllerpkg "github.com/cert-manager/cert-manager/pkg/controller"
	"github.com/cert-manager/cert-manager/pkg/controller/cainjector"
	"github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/approver"
	crca "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/ca"
	crselfsigned "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/selfsigned"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/issuing"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/keymanager"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/readiness"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/requestmanager"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/revisionmanager"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/trigger"
	"github.com/cert-manager/cert-manager/pkg/controller/issuers"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/ca"         // registers the CA issuer
	_ "github.com/cert-manager/cert-manager/pkg/issuer/selfsigned" // registers the self-signed issuer
	logf "github.com/cert-manager/cert-manager/pkg/logs"
	"github.com/cert-manager/cert-manager/pkg/util"
	utilfeature "github.com/cert-manager/cert-manager/pkg/util/feature"
	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	kscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

// controllers are the ones cert-manager runs by default that a self-signed or CA Issuer
// needs (no ACME, Vault, Venafi, ingress shim).
var controllers = []string{
	issuers.ControllerName, approver.ControllerName, crselfsigned.CRControllerName, crca.CRControllerName,
	trigger.ControllerName, issuing.ControllerName, keymanager.ControllerName, requestmanager.ControllerName,
	readiness.ControllerName, revisionmanager.ControllerName,
}

// Run runs the cert-manager controllers and the CA injector until ctx ends; kubeconfig is
// a file giving cluster-admin access (cert-manager's context reads it from a file).
// It returns once everything has started; errors after that go to errs.
func Run(ctx context.Context, cfg *rest.Config, kubeconfig string, log logr.Logger, errs chan<- error) error {
	ctx = logf.NewContext(ctx, log)
	if err := runControllers(ctx, kubeconfig, errs); err != nil {
		return err
	}
	return runInjector(ctx, cfg, log, errs)
}

func runControllers(ctx context.Context, kubeconfig string, errs chan<- error) error {
	factory, err := controllerpkg.NewContextFactory(ctx, controllerpkg.ContextOptions{
		Kubeconfig: kubeconfig, KubernetesAPIQPS: 50, KubernetesAPIBurst: 100,
		CertificateOptions: controllerpkg.CertificateOptions{
			CertificateRequestMinimumBackoffDuration: time.Second,
			CertificateRequestMaximumBackoffDuration: 10 * time.Second,
		},
	})
	if err != nil {
		return fmt.Errorf("cert-manager context: %w", err)
	}
	for _, name := range controllers {
		c, err := controllerpkg.Known()[name](factory)
		if err != nil {
			return fmt.Errorf("cert-manager controller %s: %w", name, err)
		}
		go func() {
			if err := c.Run(2, ctx); err != nil {
				errs <- fmt.Errorf("cert-manager controller %s: %w", name, err)
			}
		}()
	}
	// Informers start after the controllers have asked for theirs, as cert-manager's main does.
	shared, err := factory.Build()
	if err != nil {
		return err
	}
	shared.KubeSharedInformerFactory.Start(ctx.Done())
	shared.SharedInformerFactory.Start(ctx.Done())
	shared.HTTP01ResourceMetadataInformersFactory.Start(ctx.Done())
	return nil
}

// runInjector runs cainjector for webhook configurations, as its main does (Secrets read
// directly, not cached).
func runInjector(ctx context.Context, cfg *rest.Config, log logr.Logger, errs chan<- error) error {
	scheme := runtime.NewScheme()
	utilruntime.Must(kscheme.AddToScheme(scheme))
	utilruntime.Must(cmscheme.AddToScheme(scheme))
	utilruntime.Must(apiextensionsv1.AddToScheme(scheme))
	utilruntime.Must(apiregistrationv1.AddToScheme(scheme))
	// Its field manager is named after the user agent, as in cainjector's main.
	mgr, err := ctrl.NewManager(util.RestConfigWithUserAgent(cfg, "cainjector"), ctrl.Options{
		Scheme: scheme, Logger: log, Metrics: metricsserver.Options{BindAddress: "0"},
		Client: client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{&corev1.Secret{}}}},
	})
	if err != nil {
		return fmt.Errorf("cainjector manager: %w", err)
	}
	err = cainjector.RegisterAllInjectors(ctx, mgr, cainjector.SetupOptions{
		EnableCertificatesDataSource: true,
		EnabledReconcilersFor: map[string]bool{
			cainjector.MutatingWebhookConfigurationName:   true,
			cainjector.ValidatingWebhookConfigurationName: true,
		},
	})
	if err != nil {
		return fmt.Errorf("cainjector: %w", err)
	}
	go func() {
		if err := mgr.Start(ctx); err != nil {
			errs <- fmt.Errorf("cainjector: %w", err)
		}
	}()
	return nil
}

// ReplaceBundles makes cainjector replace a webhook configuration's CA bundle with the new
// CA, as cert-manager did before v1.19, rather than add the new CA to it
// (CAInjectorMerging), until the test ends: with merging the old CA stays trusted, which
// hides a chart whose renewals change the trust root.
func ReplaceBundles(t testing.TB) {
	set := func(on bool) error {
		return utilfeature.DefaultMutableFeatureGate.SetFromMap(map[string]bool{"CAInjectorMerging": on})
	}
	if err := set(false); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = set(true) })
}
