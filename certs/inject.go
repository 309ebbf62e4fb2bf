package certs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cert-manager/cert-manager/pkg/server/tls/authority"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
)

// caInjector writes the self-managed CA into the webhook configurations: at start, when the
// CA rotates, and every resync in case something reset it. It reads by name rather than
// watching, so it needs only get and patch on the two configurations.
type caInjector struct {
	reader client.Reader
	client client.Client
	ca     *authority.DynamicAuthority
	opts   Options
	// retry is the first wait after a pass that did not finish (the Secret or a
	// configuration not there yet); it doubles up to resync.
	retry, resync time.Duration
}

func newCAInjector(r client.Reader, c client.Client, ca *authority.DynamicAuthority, o Options) *caInjector {
	return &caInjector{reader: r, client: c, ca: ca, opts: o, retry: time.Second, resync: time.Minute}
}

// Start keeps the bundles in place until ctx ends.
func (i *caInjector) Start(ctx context.Context) {
	rotated := make(chan struct{}, 1)
	i.ca.WatchRotation(rotated)
	defer i.ca.StopWatchingRotation(rotated)
	log := logf.FromContext(ctx).WithName("ca-injector")
	wait := i.retry
	for {
		next := i.resync
		if err := i.injectAll(ctx); err != nil {
			// Usual at start: the authority has not written its Secret yet, or the
			// configurations are applied after the operator.
			log.Info("CA bundle not written yet, trying again", "in", wait.String(), "reason", err.Error())
			next, wait = wait, min(2*wait, i.resync)
		} else {
			wait = i.retry
		}
		timer := time.NewTimer(next)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-rotated:
			log.Info("CA rotated, writing the new bundle")
		case <-timer.C:
		}
		timer.Stop()
	}
}

func (i *caInjector) injectAll(ctx context.Context) error {
	bundle, err := i.bundle(ctx)
	if err != nil {
		return err
	}
	// Both, whatever the first gives: one missing must not keep the other without a bundle.
	return errors.Join(
		i.inject(ctx, &admissionregistrationv1.MutatingWebhookConfiguration{}, i.opts.MutatingWebhookName, bundle),
		i.inject(ctx, &admissionregistrationv1.ValidatingWebhookConfiguration{}, i.opts.ValidatingWebhookName, bundle))
}

// bundle is the CA certificate (PEM) from the authority's Secret.
func (i *caInjector) bundle(ctx context.Context) ([]byte, error) {
	s := &corev1.Secret{}
	if err := i.reader.Get(ctx, client.ObjectKey{Namespace: i.opts.SecretNamespace, Name: i.opts.SecretName}, s); err != nil {
		return nil, fmt.Errorf("reading the CA Secret: %w", err)
	}
	ca := s.Data["ca.crt"]
	if len(ca) == 0 {
		return nil, fmt.Errorf("the CA Secret %s/%s has no ca.crt yet", s.Namespace, s.Name)
	}
	return ca, nil
}

// inject patches only the caBundle of the entries that lack this bundle.
func (i *caInjector) inject(ctx context.Context, cfg client.Object, name string, bundle []byte) error {
	if name == "" {
		return nil
	}
	if err := i.reader.Get(ctx, client.ObjectKey{Name: name}, cfg); err != nil {
		if apierrors.IsNotFound(err) {
			return fmt.Errorf("%T %s not found", cfg, name)
		}
		return err
	}
	patch, err := bundlePatch(webhooksOf(cfg), bundle)
	if err != nil || patch == nil {
		return err
	}
	if err := i.client.Patch(ctx, cfg, client.RawPatch(types.JSONPatchType, patch)); err != nil {
		return fmt.Errorf("writing the CA bundle into %T %s: %w", cfg, name, err)
	}
	return nil
}

// webhook is one entry of a configuration: its name and current CA bundle.
type webhook struct {
	name     string
	caBundle []byte
}

func webhooksOf(cfg client.Object) []webhook {
	var out []webhook
	switch c := cfg.(type) {
	case *admissionregistrationv1.MutatingWebhookConfiguration:
		for _, w := range c.Webhooks {
			out = append(out, webhook{w.Name, w.ClientConfig.CABundle})
		}
	case *admissionregistrationv1.ValidatingWebhookConfiguration:
		for _, w := range c.Webhooks {
			out = append(out, webhook{w.Name, w.ClientConfig.CABundle})
		}
	}
	return out
}

// bundlePatch is a JSON patch setting caBundle where it differs, nil when none does. Each
// entry is tested by name first: if the list changed since it was read, the patch fails
// and the next pass reads it again, instead of writing into the wrong entry.
func bundlePatch(hooks []webhook, bundle []byte) ([]byte, error) {
	var ops []map[string]any
	for n, w := range hooks {
		if bytes.Equal(w.caBundle, bundle) {
			continue
		}
		at := fmt.Sprintf("/webhooks/%d", n)
		ops = append(ops,
			map[string]any{"op": "test", "path": at + "/name", "value": w.name},
			map[string]any{"op": "add", "path": at + "/clientConfig/caBundle", "value": bundle})
	}
	if len(ops) == 0 {
		return nil, nil
	}
	return json.Marshal(ops)
}
