package app

import (
	"flag"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/oda-canvas/api-operator-istio/internal/policy"
)

// PolicyOptions are the settings of the ExposedAPI policies.
type PolicyOptions struct {
	StreamConnectTimeout time.Duration
	StreamIdleTimeout    time.Duration
	JWTIssuer            string
	JWKSURI              string
	APIKeyAuthzProvider  string
	RateLimitMode        string

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
	fs.StringVar(&o.JWTIssuer, "jwt-issuer", os.Getenv("APIOPERATORISTIO_JWTISSUER"),
		"issuer of the JWTs the ingress gateway requires of the callers of an API with apiKeyVerification; empty: not checked, and the API says so (env APIOPERATORISTIO_JWTISSUER)")
	fs.StringVar(&o.JWKSURI, "jwks-uri", os.Getenv("APIOPERATORISTIO_JWKSURI"),
		"URL of the issuer's signing keys; empty: found by OpenID discovery from the issuer (env APIOPERATORISTIO_JWKSURI)")
	fs.StringVar(&o.APIKeyAuthzProvider, "api-key-authz-provider", os.Getenv("APIOPERATORISTIO_APIKEYAUTHZPROVIDER"),
		"ext_authz provider of the mesh config that checks the callers of an API with apiKeyVerification instead of a JWT (env APIOPERATORISTIO_APIKEYAUTHZPROVIDER)")
	fs.StringVar(&o.RateLimitMode, "rate-limit-mode", envOr("APIOPERATORISTIO_RATELIMITMODE", policy.RateLimitOff),
		"how spec.rateLimit is enforced: off, or local (Envoy's local rate limit on the ingress gateway, per replica, through EnvoyFilters) (env APIOPERATORISTIO_RATELIMITMODE)")
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
	if o.RateLimitMode != "" && !slices.Contains(policy.RateLimitModes, o.RateLimitMode) {
		return fmt.Errorf("invalid --rate-limit-mode (env APIOPERATORISTIO_RATELIMITMODE) %q: must be one of %s", o.RateLimitMode, strings.Join(policy.RateLimitModes, ", "))
	}
	if o.JWTIssuer != "" && o.APIKeyAuthzProvider != "" {
		return fmt.Errorf("--jwt-issuer and --api-key-authz-provider both set: callers are checked either with a JWT or by the provider; set one")
	}
	if o.JWKSURI != "" {
		if u, err := url.Parse(o.JWKSURI); err != nil || u.Scheme != "https" && u.Scheme != "http" || u.Host == "" {
			return fmt.Errorf("invalid --jwks-uri %q: must be an http or https URL", o.JWKSURI)
		}
		if o.JWTIssuer == "" {
			return fmt.Errorf("--jwks-uri needs --jwt-issuer: the keys are of that issuer")
		}
	}
	for name, d := range map[string]time.Duration{"--stream-connect-timeout": o.StreamConnectTimeout, "--stream-idle-timeout": o.StreamIdleTimeout} {
		if d != 0 && d < time.Millisecond {
			return fmt.Errorf("invalid %s %s: must be 1ms or more (0: the default)", name, d)
		}
	}
	return nil
}

func (o *Options) policySettings() policy.Settings {
	return policy.Settings{
		Streams: policy.StreamSettings{
			ConnectTimeout: orDefault(o.StreamConnectTimeout, policy.DefaultStreamConnectTimeout),
			IdleTimeout:    orDefault(o.StreamIdleTimeout, policy.DefaultStreamIdleTimeout),
		},
		Auth:      policy.AuthSettings{Issuer: o.JWTIssuer, JWKSURI: o.JWKSURI, Provider: o.APIKeyAuthzProvider},
		RateLimit: policy.RateLimitSettings{Mode: o.RateLimitMode, HTTPRoutes: o.RouteAPI == HTTPRoute},
	}
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}
