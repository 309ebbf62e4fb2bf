package policies

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"google.golang.org/protobuf/proto"
	securityapi "istio.io/api/security/v1beta1"
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
	union, ok := coverBoth(denyAt("/before*"), denyAt("/after*"))
	assert.True(t, ok)
	assert.True(t, proto.Equal(denyAt("/before*", "/after*"), &securityapi.AuthorizationPolicy{
		Action: securityapi.AuthorizationPolicy_DENY, Rules: []*securityapi.Rule{{From: denyAt().Rules[0].From, To: union}},
	}), "the old operations, then the new: %v", union)

	union, ok = coverBoth(denyAt("/before*", "/after*"), denyAt("/after*"))
	assert.True(t, ok)
	assert.Nil(t, union, "already covered")

	other := denyAt("/after*")
	other.Rules[0].From[0].Source.NotRequestPrincipals = []string{"another/*"}
	_, ok = coverBoth(denyAt("/before*"), other)
	assert.False(t, ok, "another issuer is not a move: the policy is written as the spec asks")

	_, ok = coverBoth(&securityapi.AuthorizationPolicy{}, denyAt("/after*"))
	assert.False(t, ok, "a policy of another shape")
}
