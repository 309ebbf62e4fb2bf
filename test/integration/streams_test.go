package integration

import (
	"context"
	"fmt"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	istioapi "istio.io/api/networking/v1alpha3"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/internal/app"
	"github.com/oda-canvas/api-operator-istio/test/harness"
)

func retriesAre(want *istioapi.HTTPRetry) func(*networkingv1.VirtualService) error {
	return func(vs *networkingv1.VirtualService) error {
		h := vs.Spec.Http[0]
		if h.Timeout != nil || !proto.Equal(h.Retries, want) {
			return fmt.Errorf("timeout %v retries %v, want no timeout and retries %v", h.Timeout, h.Retries, want)
		}
		return nil
	}
}

// destinationRule waits until the API's DestinationRule has the spec (nil: none).
func destinationRule(t *testing.T, env *harness.Env, api *odav1.ExposedAPI, want *istioapi.DestinationRule) *networkingv1.DestinationRule {
	t.Helper()
	return istioObject(t, env, &networkingv1.DestinationRule{}, client.ObjectKeyFromObject(api),
		func(o *networkingv1.DestinationRule) *istioapi.DestinationRule { return &o.Spec }, want)
}

func streamRule(host string, port uint32, connect, idle time.Duration) *istioapi.DestinationRule {
	return &istioapi.DestinationRule{Host: host, TrafficPolicy: &istioapi.TrafficPolicy{
		PortLevelSettings: []*istioapi.TrafficPolicy_PortTrafficPolicy{{
			Port: &istioapi.PortSelector{Number: port},
			ConnectionPool: &istioapi.ConnectionPoolSettings{Tcp: &istioapi.ConnectionPoolSettings_TCPSettings{
				ConnectTimeout: durationpb.New(connect), IdleTimeout: durationpb.New(idle),
			}},
		}},
	}}
}

// streamRules is streamRule for several ports of one host, in order.
func streamRules(host string, connect, idle time.Duration, ports ...uint32) *istioapi.DestinationRule {
	dr := streamRule(host, ports[0], connect, idle)
	for _, port := range ports[1:] {
		dr.TrafficPolicy.PortLevelSettings = append(dr.TrafficPolicy.PortLevelSettings, streamRule(host, port, connect, idle).TrafficPolicy.PortLevelSettings...)
	}
	return dr
}

// TestMCPStreamsOnOneService: Istio takes the traffic policy of only the oldest of the
// DestinationRules for one host, so each long-lived API's holds the ports of every other
// long-lived API of its Service: the one Istio takes covers them all, as they come and go.
func TestMCPStreamsOnOneService(t *testing.T) {
	ctx := context.Background()
	env, ns := startWithImplAnd(t, harness.Generated, nil)
	connect, idle := 60*time.Second, 900*time.Second
	a := harness.API(ns, "mcp-a", "/a", "impl", 8080)
	a.Spec.APIType = odav1.APITypeMCP
	require.NoError(t, env.Client.Create(ctx, a))
	destinationRule(t, env, a, streamRule("impl", 8080, connect, idle))

	b := harness.API(ns, "mcp-b", "/b", "impl", 9090)
	b.Spec.APIType = odav1.APITypeMCP
	require.NoError(t, env.Client.Create(ctx, b))
	destinationRule(t, env, b, streamRules("impl", connect, idle, 8080, 9090))
	destinationRule(t, env, a, streamRules("impl", connect, idle, 8080, 9090))

	env.UpdateAPI(t, b, func(api *odav1.ExposedAPI) { api.Spec.APIType = odav1.APITypeOpenAPI })
	destinationRule(t, env, b, nil)
	destinationRule(t, env, a, streamRule("impl", 8080, connect, idle))
}

// TestMCPStreams: an mcp API's route has no timeout and no retries, and a DestinationRule
// it owns gives its implementation port the canvas's connect and idle timeouts; it follows
// the port, and goes when the API is no longer mcp. Another API gets neither.
func TestMCPStreams(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		ctx := context.Background()
		env, ns := startWithImplAnd(t, set, func(o *app.Options) {
			o.StreamConnectTimeout, o.StreamIdleTimeout = 30*time.Second, 20*time.Minute
		})
		env.Implementation(t, ns, "impl2", 9090, true)

		other := createOther(t, env, ns)
		api := harness.API(ns, "agent", "/mcp", "impl", 8080)
		api.Spec.APIType = odav1.APITypeMCP
		require.NoError(t, env.Client.Create(ctx, api))

		virtualService(t, env, api, retriesAre(&istioapi.HTTPRetry{}))
		dr := destinationRule(t, env, api, streamRule("impl", 8080, 30*time.Second, 20*time.Minute))
		owner := metav1.GetControllerOf(dr)
		require.NotNil(t, owner, "the DestinationRule has a controller ownerReference")
		assert.Equal(t, api.UID, owner.UID)
		assert.Equal(t, map[string]string{"app.kubernetes.io/managed-by": "api-operator-istio", odav1.ComponentNameLabel: "demo"}, dr.Labels,
			"the API's labels")
		firstUID := dr.UID

		env.UpdateAPI(t, api, func(api *odav1.ExposedAPI) { api.Spec.Implementation, api.Spec.Port = "impl2", 9090 })
		dr = destinationRule(t, env, api, streamRule("impl2", 9090, 30*time.Second, 20*time.Minute))
		assert.Equal(t, firstUID, dr.UID, "updated in place")
		waitReady(t, env, api, "https://20.0.0.1/mcp")

		env.UpdateAPI(t, api, func(api *odav1.ExposedAPI) { api.Spec.APIType = odav1.APITypeOpenAPI })
		virtualService(t, env, api, retriesAre(nil))
		destinationRule(t, env, api, nil)

		vs := virtualService(t, env, other, routeIs("*", "component-gateway", "/other", "impl", 8080))
		assert.Nil(t, vs.Spec.Http[0].Retries, "another API's route keeps Istio's retries")
		destinationRule(t, env, other, nil)
	})
}

// TestForeignDestinationRule (audit): the DestinationRule cache holds only labelled ones, so
// an unlabelled DestinationRule of an mcp API's name, another owner's, is found on the API
// server and reported, the rest of the API's status written; ours with its label taken off
// gets it back.
func TestForeignDestinationRule(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		ctx := context.Background()
		env, ns := startWithImplAnd(t, set, func(o *app.Options) {
			o.StreamConnectTimeout, o.StreamIdleTimeout = 30*time.Second, 20*time.Minute
			o.RefusedRetry = time.Second
		})
		theirs := &networkingv1.DestinationRule{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "agent"}}
		theirs.Spec.Host = "impl"
		require.NoError(t, env.Client.Create(ctx, theirs))
		api := harness.API(ns, "agent", "/mcp", "impl", 8080)
		api.Spec.APIType = odav1.APITypeMCP
		require.NoError(t, env.Client.Create(ctx, api))
		msg := waitCondition(t, env, api, "PoliciesProgrammed", false, "PolicyNotEnforced")
		assert.Contains(t, msg, "DestinationRule "+ns+"/agent exists and is not controlled by this ExposedAPI")
		harness.Eventually(t, "the API's URL written beside the finding", func() error {
			got := &odav1.ExposedAPI{}
			if err := env.Client.Get(ctx, client.ObjectKeyFromObject(api), got); err != nil {
				return err
			}
			if got.Status.APIStatus == nil || got.Status.APIStatus.URL != "https://20.0.0.1/mcp" {
				return fmt.Errorf("status %+v", got.Status.APIStatus)
			}
			return nil
		})
		require.NoError(t, env.Client.Get(ctx, client.ObjectKeyFromObject(theirs), theirs))
		assert.Nil(t, metav1.GetControllerOf(theirs), "left alone")

		// Deleting theirs wakes nothing (the cache holds ours alone): the API's recheck
		// brings ours, with no change to the API.
		require.NoError(t, env.Client.Delete(ctx, theirs))
		destinationRule(t, env, api, streamRule("impl", 8080, 30*time.Second, 20*time.Minute))
		waitCondition(t, env, api, "PoliciesProgrammed", true, "PoliciesEnforced")
		env.UpdateAPI(t, api, func(api *odav1.ExposedAPI) { api.Spec.Port = 8081 })
		dr := destinationRule(t, env, api, streamRule("impl", 8081, 30*time.Second, 20*time.Minute))
		waitCondition(t, env, api, "PoliciesProgrammed", true, "PoliciesEnforced")
		dr.Labels = nil
		require.NoError(t, env.Client.Update(ctx, dr))
		env.UpdateAPI(t, api, func(api *odav1.ExposedAPI) { api.Spec.Port = 8080 })
		harness.Eventually(t, "our DestinationRule labelled again and following the port", func() error {
			if err := env.Client.Get(ctx, client.ObjectKeyFromObject(dr), dr); err != nil {
				return err
			}
			if dr.Labels["app.kubernetes.io/managed-by"] != "api-operator-istio" || dr.Spec.TrafficPolicy.PortLevelSettings[0].Port.Number != 8080 {
				return fmt.Errorf("labels %v, spec %v", dr.Labels, dr.Spec.TrafficPolicy)
			}
			return nil
		})
	})
}
