package policies

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	istioapi "istio.io/api/networking/v1alpha3"
	securityapi "istio.io/api/security/v1beta1"
	"k8s.io/utils/ptr"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/internal/policy"
)

func denyAt(paths ...string) *securityapi.AuthorizationPolicy {
	p := &securityapi.AuthorizationPolicy{Action: securityapi.AuthorizationPolicy_DENY, Rules: []*securityapi.Rule{{
		From: []*securityapi.Rule_From{{Source: &securityapi.Source{NotRequestPrincipals: []string{"issuer/*"}}}},
	}}}
	for _, path := range paths {
		p.Rules[0].To = append(p.Rules[0].To, &securityapi.Rule_To{Operation: &securityapi.Operation{Paths: []string{path}}})
	}
	return p
}

func TestCoverBoth(t *testing.T) {
	union, ok := coverOperations(denyAt("/before*"), denyAt("/after*"))
	assert.True(t, ok)
	assert.True(t, proto.Equal(denyAt("/before*", "/after*"), &securityapi.AuthorizationPolicy{
		Action: securityapi.AuthorizationPolicy_DENY, Rules: []*securityapi.Rule{{From: denyAt().Rules[0].From, To: union}},
	}), "the old operations, then the new: %v", union)

	union, ok = coverOperations(denyAt("/before*", "/after*"), denyAt("/after*"))
	assert.True(t, ok)
	assert.Nil(t, union, "already covered")

	other := denyAt("/after*")
	other.Rules[0].From[0].Source.NotRequestPrincipals = []string{"another/*"}
	_, ok = coverOperations(denyAt("/before*"), other)
	assert.False(t, ok, "another issuer is not a move: the policy is written as the spec asks")

	_, ok = coverOperations(&securityapi.AuthorizationPolicy{}, denyAt("/after*"))
	assert.False(t, ok, "a policy of another shape")
}

func limitAt(t *testing.T, path, limit string) *istioapi.EnvoyFilter {
	t.Helper()
	ef, err := policy.RouteRateLimit(&odav1.ExposedAPISpec{Path: path, RateLimit: &odav1.RateLimit{Enabled: ptr.To(true), Limit: limit}},
		map[string]string{"istio": "ingressgateway"})
	require.NoError(t, err)
	return ef
}

func TestCoverRoutes(t *testing.T) {
	before, after := limitAt(t, "/before", "10"), limitAt(t, "/after", "10")
	patches, ok := coverRoutes(before, after)
	assert.True(t, ok)
	require.Len(t, patches, 2)
	assert.True(t, proto.Equal(before.ConfigPatches[0], patches[0]), "the old route's limit, then the new one's")
	assert.True(t, proto.Equal(after.ConfigPatches[0], patches[1]))

	both := proto.Clone(after).(*istioapi.EnvoyFilter)
	both.ConfigPatches = patches
	patches, ok = coverRoutes(both, after)
	assert.True(t, ok)
	assert.Nil(t, patches, "already covered")

	_, ok = coverRoutes(before, limitAt(t, "/before", "20"))
	assert.False(t, ok, "a new limit on the same route is not a move: the filter is written as the spec asks")

	elsewhere := proto.Clone(after).(*istioapi.EnvoyFilter)
	elsewhere.WorkloadSelector.Labels = map[string]string{"istio": "other"}
	_, ok = coverRoutes(before, elsewhere)
	assert.False(t, ok, "other pods")
}
