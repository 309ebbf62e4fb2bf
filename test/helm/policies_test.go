package helm

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestStreamTimeoutsReachTheBinary: the chart's stream timeouts are the binary's defaults,
// and a value set in the chart is what the operator reads.
func TestStreamTimeoutsReachTheBinary(t *testing.T) {
	for _, k := range []string{"API_CONNECT_TIMEOUT", "API_READ_TIMEOUT"} {
		t.Setenv(k, "")
	}
	binary := parseFlags(t)
	for sets, want := range map[string][2]time.Duration{
		"":                         {binary.StreamConnectTimeout, binary.StreamIdleTimeout},
		"streams.connectTimeout=5": {5 * time.Second, binary.StreamIdleTimeout},
		"streams.idleTimeout=3600": {binary.StreamConnectTimeout, time.Hour},
	} {
		var args []string
		if sets != "" {
			args = append(args, sets)
		}
		c := container(t, render(t, args...))
		for _, k := range []string{"API_CONNECT_TIMEOUT", "API_READ_TIMEOUT"} {
			t.Setenv(k, envValue(c, k))
		}
		o := parseFlags(t)
		assert.Equal(t, want, [2]time.Duration{o.StreamConnectTimeout, o.StreamIdleTimeout}, "values %q", sets)
	}
}
