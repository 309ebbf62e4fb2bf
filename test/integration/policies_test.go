package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// notEnforcedNotes waits for a PolicyNotEnforced event of the API for each field and
// returns their notes.
func notEnforcedNotes(t *testing.T, env *harness.Env, api *odav1.ExposedAPI, fields ...string) []string {
	t.Helper()
	var notes []string
	harness.Eventually(t, "PolicyNotEnforced events for "+strings.Join(fields, ", "), func() error {
		var list eventsv1.EventList
		if err := env.Client.List(context.Background(), &list, client.InNamespace(api.Namespace)); err != nil {
			return err
		}
		notes = nil
		for _, e := range list.Items {
			if e.Regarding.Name == api.Name && e.Reason == "PolicyNotEnforced" {
				notes = append(notes, e.Note)
			}
		}
		for _, f := range fields {
			if !strings.Contains(strings.Join(notes, "\n"), f+" is not enforced: ") {
				return fmt.Errorf("no event for %s in %q", f, notes)
			}
		}
		return nil
	})
	return notes
}

// TestPoliciesProgrammed: every API says which policies are in force; one the user
// enabled that is not keeps the API from being Ready, with an Event naming the field and
// why; removing it makes the API Ready again. Another API is not affected.
func TestPoliciesProgrammed(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		ctx := context.Background()
		env, ns := startWithImpl(t, set)
		other := createOther(t, env, ns)
		api := harness.API(ns, "shop", "/shop", "impl", 8080)
		api.Spec.CORS = &odav1.CORS{Enabled: ptr.To(true)}
		require.NoError(t, env.Client.Create(ctx, api))

		assert.Equal(t, "enforced: spec.CORS (corsPolicy on the route)", waitCondition(t, env, api, "PoliciesProgrammed", true, "PoliciesEnforced"))
		waitCondition(t, env, api, "Ready", true, "Ready")
		waitCondition(t, env, other, "PoliciesProgrammed", true, "NoPolicies")

		env.UpdateAPI(t, api, func(api *odav1.ExposedAPI) {
			api.Spec.OASValidation = &odav1.OASValidation{RequestEnabled: ptr.To(true)}
			api.Spec.Quota = &odav1.Quota{Identifier: "consumer", Limit: "1000"}
			api.Spec.Template = "https://example.com/kong-plugins.yaml"
			api.Spec.RateLimit = &odav1.RateLimit{Enabled: ptr.To(true), Limit: "100"}
		})
		msg := waitCondition(t, env, api, "PoliciesProgrammed", false, "PolicyNotEnforced")
		assert.Equal(t, "enforced: spec.CORS (corsPolicy on the route). not enforced: "+
			"spec.rateLimit (--rate-limit-mode is off: Istio offers a local rate limit only through an EnvoyFilter, which is opt-in (--rate-limit-mode=local)); "+
			"spec.OASValidation (Istio cannot validate requests or responses against an OpenAPI document); "+
			"spec.quota (a quota needs a global rate-limit service, which this operator does not deploy); "+
			"spec.template (a template is the URL of Kong or APISIX plugin manifests; Istio has no such plugins)", msg)
		assert.Equal(t, msg, waitCondition(t, env, api, "Ready", false, "PolicyNotEnforced"))
		notes := notEnforcedNotes(t, env, api, "spec.rateLimit", "spec.OASValidation", "spec.quota", "spec.template")
		assert.Len(t, notes, 4, "one event per field: %q", notes)

		// Disabled blocks ask for nothing.
		env.UpdateAPI(t, api, func(api *odav1.ExposedAPI) {
			api.Spec.OASValidation = &odav1.OASValidation{RequestEnabled: ptr.To(false)}
			api.Spec.Quota, api.Spec.Template, api.Spec.CORS, api.Spec.RateLimit = nil, "", nil, nil
		})
		waitCondition(t, env, api, "PoliciesProgrammed", true, "NoPolicies")
		waitCondition(t, env, api, "Ready", true, "Ready")
		waitCondition(t, env, other, "Ready", true, "Ready")
	})
}
