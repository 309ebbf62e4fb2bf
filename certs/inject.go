package certs

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/cert-manager/cert-manager/pkg/server/tls/authority"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	admissionregistrationv1client "k8s.io/client-go/kubernetes/typed/admissionregistration/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
)

// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;create;update
// +kubebuilder:rbac:groups=admissionregistration.k8s.io,resources=mutatingwebhookconfigurations;validatingwebhookconfigurations,verbs=get;list;watch;patch

// caInjector writes the self-managed CA into the webhook configurations: at start, when the
// CA rotates, when a configuration changes (a deploy tool applied it again with an empty
// caBundle), and every resync in case a watch missed it.
type caInjector struct {
	// reader reads the API server directly: a cache would watch every Secret.
	reader client.Reader
	client client.Client
	// watched lists and watches the configurations, each by name, so that RBAC can grant
	// list and watch on those names only.
	watched admissionregistrationv1client.AdmissionregistrationV1Interface
	ca      *authority.DynamicAuthority
	opts    Options
	resync  time.Duration
	// trusted is told each CA found in every entry of both configurations.
	trusted func(*x509.Certificate)

	mu sync.Mutex
	// lastErr is why the last injection failed, nil after one succeeded: readiness says it.
	lastErr error
}

func newCAInjector(r client.Reader, c client.Client, w admissionregistrationv1client.AdmissionregistrationV1Interface, ca *authority.DynamicAuthority, o Options, trusted func(*x509.Certificate)) *caInjector {
	return &caInjector{reader: r, client: c, watched: w, ca: ca, opts: o, resync: time.Minute, trusted: trusted}
}

// Start keeps the bundles in place until ctx ends.
func (i *caInjector) Start(ctx context.Context) error {
	rotated := make(chan struct{}, 1)
	i.ca.WatchRotation(rotated)
	defer i.ca.StopWatchingRotation(rotated)
	changed := make(chan struct{}, 1)
	i.watch(ctx, changed)
	log := logf.FromContext(ctx).WithName("ca-injector")
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	next := time.Now()
	for {
		if !time.Now().Before(next) {
			err := i.injectAll(ctx)
			i.setLastErr(err)
			if err != nil {
				log.Info("CA bundle not written yet, trying again", "reason", err.Error())
				next = time.Now().Add(time.Second)
			} else {
				next = time.Now().Add(i.resync)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-rotated:
			next = time.Now()
		case <-changed:
			next = time.Now()
		case <-tick.C:
		}
	}
}

// watch tells changed, without blocking, whenever either configuration is added, changed or
// deleted, until ctx ends. Our own patches come back too, and find nothing to write.
func (i *caInjector) watch(ctx context.Context, changed chan<- struct{}) {
	notify := func() {
		select {
		case changed <- struct{}{}:
		default:
		}
	}
	handler := toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { notify() },
		UpdateFunc: func(any, any) { notify() },
		DeleteFunc: func(any) { notify() },
	}
	for _, w := range i.opts.configurations() {
		if w.name == "" {
			continue
		}
		_, informer := toolscache.NewInformerWithOptions(toolscache.InformerOptions{
			ListerWatcher: toolscache.NewListWatchFromClient(i.watched.RESTClient(), w.resource, "", fields.OneTermEqualSelector("metadata.name", w.name)),
			ObjectType:    w.obj,
			Handler:       handler,
		})
		go informer.RunWithContext(ctx)
	}
}

func (i *caInjector) setLastErr(err error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.lastErr = err
}

// lastError is why the last injection failed, if it did.
func (i *caInjector) lastError() error {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.lastErr
}

func (i *caInjector) injectAll(ctx context.Context) error {
	ca, err := i.currentCA(ctx)
	if err != nil {
		return err
	}
	for _, c := range i.opts.configurations() {
		if err := i.inject(ctx, c.obj, c.name, ca); err != nil {
			return err
		}
	}
	i.trusted(ca)
	return nil
}

// currentCA is the CA certificate of the authority's Secret.
func (i *caInjector) currentCA(ctx context.Context) (*x509.Certificate, error) {
	s := &corev1.Secret{}
	if err := i.reader.Get(ctx, client.ObjectKey{Namespace: i.opts.SecretNamespace, Name: i.opts.SecretName}, s); err != nil {
		return nil, fmt.Errorf("reading the CA Secret: %w", err)
	}
	if len(s.Data["ca.crt"]) == 0 {
		return nil, fmt.Errorf("the CA Secret %s/%s has no ca.crt yet", s.Namespace, s.Name)
	}
	ca, err := parseCA(s.Data["ca.crt"])
	if err != nil {
		return nil, fmt.Errorf("the CA Secret %s/%s: %w", s.Namespace, s.Name, err)
	}
	return ca, nil
}

// inject patches only the caBundle of the entries whose bundle is not trustBundle's. The
// patch first tests that the configuration still has the resourceVersion read: if it was
// reordered (each entry is addressed by its index) or changed since, another replica's
// newer CA written into a bundle for instance, the API server refuses the whole patch, which
// would otherwise drop that CA, and the next try reads it again.
func (i *caInjector) inject(ctx context.Context, cfg client.Object, name string, ca *x509.Certificate) error {
	if name == "" {
		return nil
	}
	if err := i.reader.Get(ctx, client.ObjectKey{Name: name}, cfg); err != nil {
		if apierrors.IsNotFound(err) {
			return nil // not installed in this mode or cluster
		}
		return err
	}
	var ops []map[string]any
	for n, found := range bundlesOf(cfg) {
		if bundle := trustBundle(ca, found, time.Now()); !sameCerts(found, bundle) {
			ops = append(ops, map[string]any{"op": "add", "path": fmt.Sprintf("/webhooks/%d/clientConfig/caBundle", n), "value": bundle})
		}
	}
	if len(ops) == 0 {
		return nil
	}
	ops = append([]map[string]any{{"op": "test", "path": "/metadata/resourceVersion", "value": cfg.GetResourceVersion()}}, ops...)
	raw, err := json.Marshal(ops)
	if err != nil {
		return err
	}
	if err := i.client.Patch(ctx, cfg, client.RawPatch(types.JSONPatchType, raw)); err != nil {
		return fmt.Errorf("writing the CA bundle into %s: %w", name, err)
	}
	return nil
}

// bundlesOf returns the CA bundle of each webhook entry, in order.
func bundlesOf(cfg client.Object) [][]byte {
	var out [][]byte
	switch c := cfg.(type) {
	case *admissionregistrationv1.MutatingWebhookConfiguration:
		for _, w := range c.Webhooks {
			out = append(out, w.ClientConfig.CABundle)
		}
	case *admissionregistrationv1.ValidatingWebhookConfiguration:
		for _, w := range c.Webhooks {
			out = append(out, w.ClientConfig.CABundle)
		}
	}
	return out
}

// webhookConfiguration is one of the operator's two webhook configurations: its name, its
// resource, and an empty object of its type to read it into.
type webhookConfiguration struct {
	name, resource string
	obj            client.Object
}

// configurations are the operator's two webhook configurations, each with a fresh object.
func (o Options) configurations() []webhookConfiguration {
	return []webhookConfiguration{
		{o.MutatingWebhookName, "mutatingwebhookconfigurations", &admissionregistrationv1.MutatingWebhookConfiguration{}},
		{o.ValidatingWebhookName, "validatingwebhookconfigurations", &admissionregistrationv1.ValidatingWebhookConfiguration{}},
	}
}
