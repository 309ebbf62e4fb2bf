package integration

import (
	"context"
	"fmt"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
	istioapi "istio.io/api/networking/v1alpha3"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	"k8s.io/utils/ptr"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// corsIs checks the route's corsPolicy (nil: none).
func corsIs(want *istioapi.CorsPolicy) func(*networkingv1.VirtualService) error {
	return func(vs *networkingv1.VirtualService) error {
		if len(vs.Spec.Http) != 1 {
			return fmt.Errorf("want one http route, got %v", vs.Spec.Http)
		}
		if got := vs.Spec.Http[0].CorsPolicy; !proto.Equal(got, want) {
			return fmt.Errorf("corsPolicy %v, want %v", got, want)
		}
		return nil
	}
}

func exact(s string) *istioapi.StringMatch {
	return &istioapi.StringMatch{MatchType: &istioapi.StringMatch_Exact{Exact: s}}
}

// TestCORSPolicy: the CORS block becomes the route's corsPolicy, with the schema's
// defaults for what enabled: true leaves out, and goes when disabled or removed; the
// VirtualService of another API keeps no corsPolicy.
func TestCORSPolicy(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		ctx := context.Background()
		env, ns := startWithImpl(t, set)
		other := createOther(t, env, ns)
		api := harness.API(ns, "shop", "/shop", "impl", 8080)
		api.Spec.CORS = &odav1.CORS{
			Enabled: ptr.To(true), AllowCredentials: ptr.To(true),
			AllowOrigins: "https://shop.example.com/, http://localhost:3000",
			HandlePreflightRequests: &odav1.PreflightRequests{
				AllowMethods: "GET,PUT", AllowHeaders: "Content-Type, X-Trace", MaxAge: ptr.To[int64](600),
			},
		}
		require.NoError(t, env.Client.Create(ctx, api))

		virtualService(t, env, api, corsIs(&istioapi.CorsPolicy{
			AllowOrigins:     []*istioapi.StringMatch{exact("https://shop.example.com"), exact("http://localhost:3000")},
			AllowMethods:     []string{"GET", "PUT"},
			AllowHeaders:     []string{"Content-Type", "X-Trace"},
			MaxAge:           durationpb.New(600 * time.Second),
			AllowCredentials: wrapperspb.Bool(true),
		}))

		// enabled: true alone: the schema's documented defaults.
		env.UpdateAPI(t, api, func(api *odav1.ExposedAPI) { api.Spec.CORS = &odav1.CORS{Enabled: ptr.To(true)} })
		virtualService(t, env, api, corsIs(&istioapi.CorsPolicy{
			AllowOrigins: []*istioapi.StringMatch{{MatchType: &istioapi.StringMatch_Regex{Regex: ".*"}}},
			AllowMethods: []string{"GET", "POST", "HEAD", "OPTIONS"},
			AllowHeaders: []string{"Origin", "Accept", "X-Requested-With", "Content-Type",
				"Access-Control-Request-Method", "Access-Control-Request-Headers"},
			MaxAge:           durationpb.New(1800 * time.Second),
			AllowCredentials: wrapperspb.Bool(false),
		}))

		// Preflight handling off: origins and credentials only.
		env.UpdateAPI(t, api, func(api *odav1.ExposedAPI) {
			api.Spec.CORS.HandlePreflightRequests = &odav1.PreflightRequests{Enabled: ptr.To(false)}
		})
		virtualService(t, env, api, corsIs(&istioapi.CorsPolicy{
			AllowOrigins:     []*istioapi.StringMatch{{MatchType: &istioapi.StringMatch_Regex{Regex: ".*"}}},
			AllowCredentials: wrapperspb.Bool(false),
		}))

		env.UpdateAPI(t, api, func(api *odav1.ExposedAPI) { api.Spec.CORS.Enabled = ptr.To(false) })
		virtualService(t, env, api, corsIs(nil))
		env.UpdateAPI(t, api, func(api *odav1.ExposedAPI) { api.Spec.CORS.Enabled = ptr.To(true) })
		virtualService(t, env, api, func(vs *networkingv1.VirtualService) error {
			if vs.Spec.Http[0].CorsPolicy == nil {
				return fmt.Errorf("no corsPolicy")
			}
			return nil
		})
		env.UpdateAPI(t, api, func(api *odav1.ExposedAPI) { api.Spec.CORS = nil })
		virtualService(t, env, api, corsIs(nil))

		vs := virtualService(t, env, other, routeIs("*", "component-gateway", "/other", "impl", 8080))
		assert.Nil(t, vs.Spec.Http[0].CorsPolicy, "another API's route has no corsPolicy")
	})
}
