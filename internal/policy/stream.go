package policy

import (
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	istioapi "istio.io/api/networking/v1alpha3"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
)

// StreamSettings are the upstream timeouts of long-lived APIs (mcp): the canvas's Kong
// and APISIX operators default to 60 s to connect and 900 s of read/write idle.
type StreamSettings struct {
	ConnectTimeout time.Duration
	IdleTimeout    time.Duration
}

// Defaults of StreamSettings, as the canvas's Kong and APISIX operators have them.
const (
	DefaultStreamConnectTimeout = 60 * time.Second
	DefaultStreamIdleTimeout    = 900 * time.Second
)

// Streams tells whether the API holds long-lived connections: an MCP server streams its
// answers (server-sent events). The ExposedAPI schema has no other way to say so.
func Streams(spec *odav1.ExposedAPISpec) bool {
	return spec.APIType == odav1.APITypeMCP
}

// streamRoute leaves the route's timeout unset, which Istio documents as no timeout (it
// refuses a 0s one), and turns retries off: a retried stream would replay its request.
func streamRoute(route *istioapi.HTTPRoute) {
	route.Timeout = nil
	route.Retries = &istioapi.HTTPRetry{Attempts: 0}
}

// TrafficPolicy is the connection pool of a long-lived API's implementation port, or nil
// for an API that does not stream.
func (s StreamSettings) TrafficPolicy(spec *odav1.ExposedAPISpec) *istioapi.TrafficPolicy {
	if !Streams(spec) {
		return nil
	}
	return &istioapi.TrafficPolicy{ConnectionPool: &istioapi.ConnectionPoolSettings{
		Tcp: &istioapi.ConnectionPoolSettings_TCPSettings{
			ConnectTimeout: durationpb.New(s.ConnectTimeout),
			IdleTimeout:    durationpb.New(s.IdleTimeout),
		},
	}}
}
