package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLinksNoAPIServerLibrary: k8s.io/apiserver (and with it CEL, gRPC and OpenTelemetry)
// once came in with controller-runtime's metrics/filters and nearly doubled the binary and
// its resident memory; the operator is a client, and its metrics guard is written on
// client-go (internal/metricsauth).
func TestLinksNoAPIServerLibrary(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.HasPrefix(pkg, "k8s.io/apiserver/") || strings.HasPrefix(pkg, "github.com/google/cel-go/") {
			t.Errorf("the binary links %s", pkg)
		}
	}
}
