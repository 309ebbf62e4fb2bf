package policy

import (
	"testing"

	"k8s.io/utils/ptr"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
)

// A max age of 0 (do not cache) cannot be an Istio duration, which must be 1ms or more.
func TestCORSMaxAgeZeroLeavesTheHeaderOut(t *testing.T) {
	p := CORS(&odav1.CORS{Enabled: ptr.To(true), HandlePreflightRequests: &odav1.PreflightRequests{MaxAge: ptr.To[int64](0)}})
	if p == nil || p.MaxAge != nil {
		t.Fatalf("corsPolicy %v, want one without maxAge", p)
	}
}

func TestCORSAnyOriginBesideExactOnes(t *testing.T) {
	p := CORS(&odav1.CORS{Enabled: ptr.To(true), AllowOrigins: "https://a.example, *"})
	if len(p.AllowOrigins) != 2 || p.AllowOrigins[0].GetExact() != "https://a.example" || p.AllowOrigins[1].GetRegex() != ".*" {
		t.Fatalf("allowOrigins %v, want exact https://a.example and regex .*", p.AllowOrigins)
	}
}
