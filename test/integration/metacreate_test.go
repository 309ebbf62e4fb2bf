package integration

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	istioapi "istio.io/api/networking/v1alpha3"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	"github.com/oda-canvas/api-operator-istio/internal/app"
	"github.com/oda-canvas/api-operator-istio/internal/metacreate"
	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// TestCreateReadsBackMetadata: the Creator stores the object as sent, gives the caller the
// metadata the API server set, and returns the API server's errors as they are.
func TestCreateReadsBackMetadata(t *testing.T) {
	ctx := context.Background()
	env := harness.Start(t, harness.Generated)
	ns := env.Namespace(t, "components")
	httpClient, err := rest.HTTPClientFor(env.Config)
	require.NoError(t, err)
	mapper, err := apiutil.NewDynamicRESTMapper(env.Config, httpClient)
	require.NoError(t, err)
	creator := metacreate.New(env.Config, httpClient, app.Scheme(), mapper)

	vs := &networkingv1.VirtualService{ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: ns, Labels: map[string]string{"a": "b"}}}
	vs.Spec.Hosts, vs.Spec.Gateways = []string{"*"}, []string{"component-gateway"}
	vs.Spec.Http = []*istioapi.HTTPRoute{{Route: []*istioapi.HTTPRouteDestination{{Destination: &istioapi.Destination{Host: "web"}}}}}
	sent := vs.DeepCopy()
	require.NoError(t, creator.Create(ctx, vs))

	stored := &networkingv1.VirtualService{}
	require.NoError(t, env.Client.Get(ctx, client.ObjectKeyFromObject(vs), stored))
	assert.NotEmpty(t, vs.UID)
	assert.Equal(t, stored.UID, vs.UID)
	assert.Equal(t, stored.ResourceVersion, vs.ResourceVersion)
	assert.Equal(t, stored.Generation, vs.Generation)
	assert.Equal(t, stored.CreationTimestamp, vs.CreationTimestamp)
	assert.Len(t, vs.ManagedFields, len(stored.ManagedFields))
	assert.Equal(t, map[string]string{"a": "b"}, stored.Labels)
	assert.True(t, proto.Equal(&sent.Spec, &stored.Spec), "stored spec %v, sent %v", &stored.Spec, &sent.Spec)
	assert.True(t, proto.Equal(&sent.Spec, &vs.Spec), "the caller's spec is the one sent")

	again := sent.DeepCopy()
	err = creator.Create(ctx, again)
	assert.True(t, apierrors.IsAlreadyExists(err), "a second create: %v", err)
	assert.ErrorContains(t, err, `"`+sent.Name+`" already exists`, "the API server's own message")

	bad := sent.DeepCopy()
	bad.Name = "Not_A_Name"
	err = creator.Create(ctx, bad)
	assert.True(t, apierrors.IsInvalid(err), "an invalid name: %v", err)
	assert.ErrorContains(t, err, "Not_A_Name", "the API server's own message")
	var status apierrors.APIStatus
	if assert.ErrorAs(t, err, &status) {
		assert.Equal(t, int32(http.StatusUnprocessableEntity), status.Status().Code)
	}

	// An admission refusal, whose Status the API server cannot give as metadata.
	refuseRoutes(t, env, ns)
	refused := sent.DeepCopy()
	refused.Name = "refused-shop"
	err = creator.Create(ctx, refused)
	assert.True(t, apierrors.IsInvalid(err), "a refused create: %v", err)
	assert.ErrorContains(t, err, refusal, "the policy's own message")
}
