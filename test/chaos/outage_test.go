package chaos

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// TestWebhookOutage is fault 4: every replica is stopped. With failurePolicy Fail, creates
// are refused with the API server's message and nothing is stored. With Ignore, bad
// objects are stored unvalidated; once the operator is back it reports InvalidSpec or
// RouteConflict on them and programs nothing wrong.
func TestWebhookOutage(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		ctx := context.Background()
		p := startPlane(t, set, true)
		ns := "outage"
		s := newScene(t, p, ns)
		op := newOperator(t, p, "operator").withWebhooks(t, p)
		startService(t, p, op)
		op.start(t)
		if err := harness.WaitForWebhook(ctx, p.Client, ns, harness.Wait); err != nil {
			t.Fatal(err)
		}
		first := s.api(ns, "first", "/shared")
		if err := p.Client.Create(ctx, first); err != nil {
			t.Fatal(err)
		}
		s.listEntries(t, []*odav1.ExposedAPI{first})
		if _, bad := s.await(t, time.Now(), harness.Wait); len(bad) > 0 {
			t.Fatalf("not converged before the outage:\n%s", listed(bad, 20))
		}
		op.kill()
		start := time.Now()
		for _, a := range outageAPIs(s, ns) {
			refusedWhole(t, p, a)
		}
		setFailurePolicy(t, p, admissionregistrationv1.Ignore)
		for _, a := range outageAPIs(s, ns) {
			harness.Eventually(t, "stored without the webhooks", func() error { return p.Client.Create(ctx, a.DeepCopy()) })
		}
		op.start(t)
		s.finish(t, "4 webhook outage "+string(set), start, 2*time.Minute, op)
	})
}

// outageAPIs are what the webhooks would refuse: an invalid spec, and a second claim on
// the route of "first".
func outageAPIs(s *scene, ns string) []*odav1.ExposedAPI {
	invalid := s.api(ns, "invalid", "/invalid")
	invalid.Spec.Port = 70000
	return []*odav1.ExposedAPI{invalid, s.api(ns, "second", "/shared")}
}

// refusedWhole: creating a is refused with the API server's message about the webhook it
// could not call, and nothing of a is stored.
func refusedWhole(t *testing.T, p *plane, a *odav1.ExposedAPI) {
	t.Helper()
	err := p.Client.Create(context.Background(), a.DeepCopy())
	if err == nil || !strings.Contains(err.Error(), "failed calling webhook") {
		t.Errorf("creating %s with no webhook serving: want the API server's refusal, got %v", a.Name, err)
	}
	got := &odav1.ExposedAPI{}
	if err := p.Client.Get(context.Background(), client.ObjectKeyFromObject(a), got); !apierrors.IsNotFound(err) {
		t.Errorf("%s was refused but something is stored: %v", a.Name, err)
	}
}

// setFailurePolicy sets the failure policy of every webhook of ours.
func setFailurePolicy(t *testing.T, p *plane, policy admissionregistrationv1.FailurePolicyType) {
	t.Helper()
	ctx := context.Background()
	m := &admissionregistrationv1.MutatingWebhookConfiguration{}
	v := &admissionregistrationv1.ValidatingWebhookConfiguration{}
	if err := p.Client.Get(ctx, client.ObjectKey{Name: harness.MutatingWebhookName}, m); err != nil {
		t.Fatal(err)
	}
	if err := p.Client.Get(ctx, client.ObjectKey{Name: harness.ValidatingWebhookName}, v); err != nil {
		t.Fatal(err)
	}
	for i := range m.Webhooks {
		m.Webhooks[i].FailurePolicy = &policy
	}
	for i := range v.Webhooks {
		v.Webhooks[i].FailurePolicy = &policy
	}
	for _, obj := range []client.Object{m, v} {
		if err := p.Client.Update(ctx, obj); err != nil {
			t.Fatal(fmt.Errorf("setting failurePolicy %s: %w", policy, err))
		}
	}
}
