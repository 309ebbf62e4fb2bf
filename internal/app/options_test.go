package app

import (
	"flag"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zapcore"
)

func parse(t *testing.T, args ...string) *Options {
	t.Helper()
	o := &Options{}
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	o.AddFlags(fs)
	require.NoError(t, fs.Parse(slices.DeleteFunc(args, func(a string) bool { return a == "" })))
	return o
}

func TestDefaultsWithoutEnvironment(t *testing.T) {
	for _, k := range []string{"COMPONENT_NAMESPACE", "APIOPERATORISTIO_COMPONENTGATEWAY", "APIOPERATORISTIO_PUBLICHOSTNAME", "OPENMETRICS_IMPLEMENTATION", "LOGGING"} {
		t.Setenv(k, "")
	}
	o := parse(t)
	assert.Empty(t, o.Namespaces, "no namespaces means all")
	assert.Equal(t, "component-gateway", o.ComponentGateway)
	assert.Empty(t, o.PublicHostname)
	assert.Equal(t, ServiceMonitor, o.OpenMetricsImplementation)
	assert.Equal(t, "info", o.LogLevel)
	assert.True(t, o.EnableWebhooks)
	require.NoError(t, o.Validate())
}

func TestEnvironmentThenFlags(t *testing.T) {
	t.Setenv("COMPONENT_NAMESPACE", "components, other")
	t.Setenv("APIOPERATORISTIO_COMPONENTGATEWAY", "env-gateway")
	t.Setenv("APIOPERATORISTIO_PUBLICHOSTNAME", "env.example.com")
	t.Setenv("OPENMETRICS_IMPLEMENTATION", "DataDogAnnotation")
	t.Setenv("LOGGING", "10")

	o := parse(t)
	assert.Equal(t, []string{"components", "other"}, o.Namespaces)
	assert.Equal(t, "env-gateway", o.ComponentGateway)
	assert.Equal(t, "env.example.com", o.PublicHostname)
	assert.Equal(t, DataDogAnnotation, o.OpenMetricsImplementation)
	assert.Equal(t, "10", o.LogLevel)

	o = parse(t, "--namespaces=a,b", "--component-gateway=flag-gateway", "--public-hostname=10.1.2.3",
		"--openmetrics-implementation=PrometheusAnnotation", "--log-level=warn")
	assert.Equal(t, []string{"a", "b"}, o.Namespaces)
	assert.Equal(t, "flag-gateway", o.ComponentGateway)
	assert.Equal(t, "10.1.2.3", o.PublicHostname)
	assert.Equal(t, PrometheusAnnotation, o.OpenMetricsImplementation)
	assert.Equal(t, "warn", o.LogLevel)
}

func TestUnknownPatternIsAnError(t *testing.T) {
	o := parse(t, "--openmetrics-implementation=Graphite")
	err := o.Validate()
	require.Error(t, err)
	assert.Equal(t, `invalid --openmetrics-implementation (env OPENMETRICS_IMPLEMENTATION) "Graphite": must be one of ServiceMonitor, PrometheusAnnotation, DataDogAnnotation`, err.Error())
}

func TestLogLevels(t *testing.T) {
	for in, want := range map[string]zapcore.Level{
		"0": zapcore.WarnLevel, "-1": zapcore.DebugLevel, "5": zapcore.DebugLevel,
		"10": zapcore.DebugLevel, "20": zapcore.InfoLevel, "30": zapcore.WarnLevel, "40": zapcore.ErrorLevel, "50": zapcore.ErrorLevel,
		"debug": zapcore.DebugLevel, "INFO": zapcore.InfoLevel, "warn": zapcore.WarnLevel, "error": zapcore.ErrorLevel,
	} {
		got, err := ParseLogLevel(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	_, err := ParseLogLevel("loud")
	require.EqualError(t, err, `invalid --log-level (env LOGGING) "loud": use debug, info, warn, error or 10, 20, 30, 40`)
}

func TestNoClientSideRateLimitByDefault(t *testing.T) {
	o := parse(t)
	require.NoError(t, o.Validate())
	qps, burst := o.RateLimit()
	assert.Equal(t, float32(-1), qps, "client-go reads QPS 0 as 5/s; -1 is no limiter")
	assert.Zero(t, burst)
	for _, off := range []string{"0", "-1"} {
		qps, _ = parse(t, "--kube-api-qps="+off).RateLimit()
		assert.Equal(t, float32(-1), qps, off)
	}
}

func TestRateLimitWhenAsked(t *testing.T) {
	for args, want := range map[[2]string][2]float64{
		{"--kube-api-qps=50", "--kube-api-burst=100"}: {50, 100},
		{"--kube-api-qps=50", "--kube-api-burst=50"}:  {50, 50},
		{"--kube-api-qps=20", ""}:                     {20, 40},
		{"--kube-api-qps=0.5", ""}:                    {0.5, 1},
	} {
		o := parse(t, args[0], args[1])
		require.NoError(t, o.Validate(), args)
		qps, burst := o.RateLimit()
		assert.Equal(t, [2]float64{float64(qps), float64(burst)}, want, args)
	}
}

func TestBadRateLimits(t *testing.T) {
	for args, want := range map[[2]string]string{
		{"--kube-api-burst=100", ""}:                 "--kube-api-burst 100 has no effect without a positive --kube-api-qps (0 or negative means no client-side limit)",
		{"--kube-api-qps=-1", "--kube-api-burst=10"}: "--kube-api-burst 10 has no effect without a positive --kube-api-qps (0 or negative means no client-side limit)",
		{"--kube-api-qps=50", "--kube-api-burst=-1"}: "invalid --kube-api-burst -1: use a positive number, or 0 for twice --kube-api-qps",
		{"--kube-api-qps=NaN", ""}:                   "invalid --kube-api-qps NaN: use a positive number, or 0 for no client-side limit",
		{"--kube-api-qps=+Inf", ""}:                  "invalid --kube-api-qps +Inf: use a positive number, or 0 for no client-side limit",
		{"--kube-api-qps=1e300", ""}:                 "invalid --kube-api-qps 1e+300: use a positive number, or 0 for no client-side limit",
	} {
		require.EqualError(t, parse(t, args[0], args[1]).Validate(), want, args)
	}
}

func TestInternalSegments(t *testing.T) {
	t.Setenv("APIOPERATORISTIO_INTERNALSEGMENTS", "")
	o := parse(t)
	assert.Empty(t, o.InternalSegments, "none by default: every API on the component gateway")
	require.NoError(t, o.Validate())

	t.Setenv("APIOPERATORISTIO_INTERNALSEGMENTS", "managementFunction, securityFunction")
	o = parse(t)
	assert.Equal(t, []string{"managementFunction", "securityFunction"}, o.InternalSegments)
	require.NoError(t, o.Validate())

	o = parse(t, "--internal-segments=securityFunction")
	assert.Equal(t, []string{"securityFunction"}, o.InternalSegments, "the flag replaces the environment's list")
	o = parse(t, "--internal-segments=")
	assert.Empty(t, o.InternalSegments, "an empty flag clears the environment's list")
}

func TestUnknownInternalSegmentIsAnError(t *testing.T) {
	for arg, bad := range map[string]string{
		"--internal-segments=managementFunction,metrics": "metrics",
		"--internal-segments=ManagementFunction":         "ManagementFunction",
	} {
		require.EqualError(t, parse(t, arg).Validate(), `invalid --internal-segments (env APIOPERATORISTIO_INTERNALSEGMENTS): unknown segment "`+
			bad+`": use coreFunction, managementFunction, securityFunction`, arg)
	}
}

func TestPolicySettingsThatCannotWork(t *testing.T) {
	for args, want := range map[string]string{
		"--jwt-issuer=https://idp --api-key-authz-provider=x": "--jwt-issuer and --api-key-authz-provider both set",
		"--jwks-uri=https://idp/keys":                         "--jwks-uri needs --jwt-issuer",
		"--jwt-issuer=https://idp --jwks-uri=idp/keys":        `invalid --jwks-uri "idp/keys"`,
		"--stream-idle-timeout=1us":                           "invalid --stream-idle-timeout 1µs",
		"--rate-limit-mode=global":                            `invalid --rate-limit-mode (env APIOPERATORISTIO_RATELIMITMODE) "global": must be one of off, local`,
	} {
		o := parse(t, strings.Fields(args)...)
		err := o.Validate()
		require.Error(t, err, args)
		assert.Contains(t, err.Error(), want)
	}
	t.Setenv("API_CONNECT_TIMEOUT", "soon")
	assert.ErrorContains(t, parse(t).Validate(), `invalid API_CONNECT_TIMEOUT "soon"`)
}

func TestRouteAPI(t *testing.T) {
	t.Setenv("APIOPERATORISTIO_ROUTEAPI", "")
	o := parse(t)
	require.NoError(t, o.Validate())
	assert.Equal(t, VirtualService, o.RouteAPI, "VirtualServices by default, as the canvas's operator")
	unset := &Options{ComponentGateway: "g", OpenMetricsImplementation: ServiceMonitor, LogLevel: "info"}
	require.NoError(t, unset.Validate())
	assert.Equal(t, VirtualService, unset.RouteAPI, "options built in code without it")

	t.Setenv("APIOPERATORISTIO_ROUTEAPI", "HTTPRoute")
	assert.Equal(t, HTTPRoute, parse(t).RouteAPI)
	assert.Equal(t, VirtualService, parse(t, "--route-api=VirtualService").RouteAPI, "the flag wins")

	require.EqualError(t, parse(t, "--route-api=Ingress").Validate(),
		`invalid --route-api (env APIOPERATORISTIO_ROUTEAPI) "Ingress": must be one of VirtualService, HTTPRoute`)
}

// TestLeaderElectionID: releases in one namespace each need a Lease of their own; without
// the flag (or in Options built in code) it is the Lease of earlier versions.
func TestLeaderElectionID(t *testing.T) {
	assert.Equal(t, LeaderElectionID, managerOptions(parse(t)).LeaderElectionID)
	assert.Equal(t, LeaderElectionID, managerOptions(&Options{}).LeaderElectionID)
	assert.Equal(t, "canvas-api-operator-istio", managerOptions(parse(t, "--leader-election-id=canvas-api-operator-istio")).LeaderElectionID)
}

// TestPublicHostname: a host name is kept lower case without a trailing dot; what no
// request's Host can be is refused at start, naming the setting.
func TestPublicHostname(t *testing.T) {
	for in, want := range map[string]string{"": "", "API.Example.com.": "api.example.com", "192.0.2.10": "192.0.2.10", "localhost": "localhost"} {
		o := parse(t, "--public-hostname="+in)
		require.NoError(t, o.Validate(), in)
		assert.Equal(t, want, o.PublicHostname)
	}
	for _, bad := range []string{"api.example.com:8443", "https://api.example.com", "api.example.com/x", "*.example.com", "*", "300.1.2.3", "::1"} {
		o := parse(t, "--public-hostname="+bad)
		assert.ErrorContains(t, o.Validate(), "invalid --public-hostname (env APIOPERATORISTIO_PUBLICHOSTNAME)", bad)
	}
}

// The canvas runs the Python operator as `kopf run -n components -n odacompns-*`: repeated,
// the flag adds up as kopf's -n does, the first time replacing the environment's value.
func TestRepeatedListFlagsAddUp(t *testing.T) {
	t.Setenv("COMPONENT_NAMESPACE", "from-env")
	t.Setenv("APIOPERATORISTIO_INTERNALSEGMENTS", "")
	o := parse(t, "--namespaces=components", "--namespaces=odacompns-*, team-a", "--internal-segments=managementFunction", "--internal-segments=securityFunction")
	assert.Equal(t, []string{"components", "odacompns-*", "team-a"}, o.Namespaces)
	assert.Equal(t, []string{"managementFunction", "securityFunction"}, o.InternalSegments)
	assert.Equal(t, []string{"from-env"}, parse(t).Namespaces)
}

// A component gateway no route could attach to stops the start, naming the setting.
func TestComponentGateway(t *testing.T) {
	for _, good := range []string{"component-gateway", "canvas/component-gateway", "istio-ingress/gw.v2"} {
		assert.NoError(t, parse(t, "--component-gateway="+good).Validate(), good)
	}
	for bad, want := range map[string]string{
		"":                          "it is empty",
		" canvas/component-gateway": `namespace " canvas" is not a namespace name`,
		"Canvas/gateway":            `namespace "Canvas" is not a namespace name`,
		"canvas/":                   `name "" is not a Gateway name`,
		"a/b/c":                     `name "b/c" is not a Gateway name`,
		"component gateway":         `name "component gateway" is not a Gateway name`,
	} {
		o := parse(t, "--component-gateway="+bad)
		assert.ErrorContains(t, o.Validate(), `invalid --component-gateway (env APIOPERATORISTIO_COMPONENTGATEWAY) "`+bad+`": must be a Gateway's name or namespace/name, and `+want, bad)
	}
}
