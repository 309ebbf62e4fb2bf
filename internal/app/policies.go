package app

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/oda-canvas/api-operator-istio/internal/policy"
)

// PolicyOptions are the settings of the ExposedAPI policies.
type PolicyOptions struct {
	StreamConnectTimeout time.Duration
	StreamIdleTimeout    time.Duration

	// envErr is a policy environment variable that could not be read; Validate reports it.
	envErr error
}

// addPolicyFlags registers the policy flags. The timeouts default from the canvas's
// API_CONNECT_TIMEOUT and API_READ_TIMEOUT (whole seconds), as its Kong and APISIX
// operators read them.
func (o *Options) addPolicyFlags(fs *flag.FlagSet) {
	fs.DurationVar(&o.StreamConnectTimeout, "stream-connect-timeout", o.envSeconds("API_CONNECT_TIMEOUT", policy.DefaultStreamConnectTimeout),
		"connect timeout to the implementation of an mcp API; 0: 60s (env API_CONNECT_TIMEOUT, in seconds)")
	fs.DurationVar(&o.StreamIdleTimeout, "stream-idle-timeout", o.envSeconds("API_READ_TIMEOUT", policy.DefaultStreamIdleTimeout),
		"how long a connection to the implementation of an mcp API may carry no bytes; 0: 15m (env API_READ_TIMEOUT, in seconds)")
}

func (o *Options) envSeconds(key string, def time.Duration) time.Duration {
	v := os.Getenv(key)
	if v == "" {
		return def
	}
	n, err := strconv.ParseUint(v, 10, 31)
	if err != nil || n == 0 {
		o.envErr = fmt.Errorf("invalid %s %q: must be a whole number of seconds greater than 0", key, v)
		return def
	}
	return time.Duration(n) * time.Second
}

// validatePolicies refuses timeouts Istio refuses (under 1ms); 0 is the default.
func (o *Options) validatePolicies() error {
	if o.envErr != nil {
		return o.envErr
	}
	for name, d := range map[string]time.Duration{"--stream-connect-timeout": o.StreamConnectTimeout, "--stream-idle-timeout": o.StreamIdleTimeout} {
		if d != 0 && d < time.Millisecond {
			return fmt.Errorf("invalid %s %s: must be 1ms or more (0: the default)", name, d)
		}
	}
	return nil
}

func (o *Options) policySettings() policy.Settings {
	return policy.Settings{Streams: policy.StreamSettings{
		ConnectTimeout: orDefault(o.StreamConnectTimeout, policy.DefaultStreamConnectTimeout),
		IdleTimeout:    orDefault(o.StreamIdleTimeout, policy.DefaultStreamIdleTimeout),
	}}
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}
