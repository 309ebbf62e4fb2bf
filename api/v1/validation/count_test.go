package validation

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"k8s.io/apimachinery/pkg/util/validation/field"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
)

// A rate limit must fit Envoy's token bucket (uint32), or every reconcile fails on it.
func TestRateLimitFitsEnvoysTokenBucket(t *testing.T) {
	fld := field.NewPath("spec", "rateLimit")
	assert.Empty(t, validateRateLimit(&odav1.RateLimit{Limit: "4294967295"}, fld))
	for _, limit := range []string{"4294967296", "5000000000", "9223372036854775807", "99999999999999999999"} {
		errs := validateRateLimit(&odav1.RateLimit{Limit: limit}, fld)
		if assert.Len(t, errs, 1, limit) {
			assert.Equal(t, `spec.rateLimit.limit: Invalid value: "`+limit+`": must be at most 4294967295`, errs[0].Error())
		}
	}
}

// A quota is not enforced, so nothing narrows it below what the field always took.
func TestQuotaLimitKeepsItsRange(t *testing.T) {
	fld := field.NewPath("spec", "quota")
	assert.Empty(t, validateQuota(&odav1.Quota{Limit: "9223372036854775807"}, fld))
	assert.NotEmpty(t, validateQuota(&odav1.Quota{Limit: "9223372036854775808"}, fld))
	assert.NotEmpty(t, validateQuota(&odav1.Quota{Limit: "0"}, fld))
}
