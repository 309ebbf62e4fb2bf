package app

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/flowcontrol"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
)

// limiters are the rate limiters of the REST clients controller-runtime's client makes
// for two resource types on cfg.
func limiters(t *testing.T, cfg *rest.Config) (flowcontrol.RateLimiter, flowcontrol.RateLimiter) {
	t.Helper()
	codecs := serializer.NewCodecFactory(Scheme())
	var out []flowcontrol.RateLimiter
	for _, gvk := range []schema.GroupVersionKind{
		{Group: "networking.istio.io", Version: "v1", Kind: "VirtualService"},
		{Group: "oda.tmforum.org", Version: "v1", Kind: "ExposedAPI"},
	} {
		rc, err := apiutil.RESTClientForGVK(gvk, false, false, cfg, codecs, http.DefaultClient)
		require.NoError(t, err)
		out = append(out, rc.GetRateLimiter())
	}
	return out[0], out[1]
}

func TestOneRateLimitForEveryResourceType(t *testing.T) {
	base := &rest.Config{Host: "https://127.0.0.1:6443"}
	o := parse(t, "--kube-api-qps=50", "--kube-api-burst=80")
	require.NoError(t, o.Validate())
	vs, api := limiters(t, o.clientConfig(base))
	require.NotNil(t, vs)
	assert.Same(t, vs, api, "VirtualServices and ExposedAPIs draw on one bucket: --kube-api-qps limits the operator, not each type")
	assert.Equal(t, float32(50), vs.QPS())
	assert.Nil(t, base.RateLimiter, "the caller's config is left alone")

	vs, api = limiters(t, parse(t).clientConfig(base))
	assert.Nil(t, vs, "no limit by default")
	assert.Nil(t, api)
}

func TestLeaderElectionHasItsOwnBucket(t *testing.T) {
	base := &rest.Config{Host: "https://127.0.0.1:6443"}
	o := parse(t, "--kube-api-qps=5", "--leader-elect")
	cfg := o.clientConfig(base)
	le := o.leaderElectionConfig(cfg)
	require.NotNil(t, le)
	require.NotNil(t, le.RateLimiter)
	assert.NotSame(t, cfg.RateLimiter, le.RateLimiter, "a lease renewal never waits behind the reconcilers for a token")
	assert.Equal(t, float32(5), le.RateLimiter.QPS())

	assert.Nil(t, parse(t, "--leader-elect").leaderElectionConfig(parse(t).clientConfig(base)), "no limit: the manager's config serves")
	assert.Nil(t, parse(t, "--kube-api-qps=5").leaderElectionConfig(cfg), "no leader election")
}
