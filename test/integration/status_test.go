package integration

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/stretchr/testify/require"

	odav1 "github.com/oda-canvas/api-operator-istio/api/v1"
	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// wantStatus is what one API's apiStatus must say.
type wantStatus struct{ url, developerUI, ip string }

func waitAPIStatus(t *testing.T, env *harness.Env, api *odav1.ExposedAPI, want wantStatus, reason string) {
	t.Helper()
	env.WaitAPI(t, api, fmt.Sprintf("status %+v (%s)", want, reason), func(got *odav1.ExposedAPI) error {
		s := got.Status.APIStatus
		if s == nil {
			return fmt.Errorf("no apiStatus yet")
		}
		if have := (wantStatus{s.URL, s.DeveloperUI, s.IP}); have != want {
			return fmt.Errorf("apiStatus %+v", have)
		}
		if c := readyCondition(got); c == nil || c.Reason != reason {
			return fmt.Errorf("Ready condition %+v, want reason %s", c, reason)
		}
		return nil
	})
}

func TestStatusURLs(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		ctx := context.Background()
		env := harness.Start(t, set)
		ns := env.Namespace(t, "components")
		env.Implementation(t, ns, "impl", 8080, true)
		plain := harness.API(ns, "plain", "/plain", "impl", 8080)
		named := harness.API(ns, "named", "/named", "impl", 8080)
		named.Spec.Hostname, named.Spec.DeveloperUI = "api.example.com", "/named/docs"
		op := harness.StartOperator(t, env, harness.DefaultOptions())
		for _, api := range []*odav1.ExposedAPI{plain, named} {
			require.NoError(t, env.Client.Create(ctx, api))
		}

		// No gateway Service yet: programmed, no URL, a condition that says why.
		waitAPIStatus(t, env, plain, wantStatus{}, "NoIngressAddress")
		waitAPIStatus(t, env, named, wantStatus{}, "NoIngressAddress")

		cases := []struct {
			name         string
			ip, host     string
			ports        []corev1.ServicePort
			plain, named wantStatus
		}{
			{"gateway appears with an ip, http2 on 80", "20.0.0.1", "", []corev1.ServicePort{{Name: "http2", Port: 80}},
				wantStatus{"https://20.0.0.1/plain", "", "20.0.0.1"},
				wantStatus{"https://api.example.com/named", "https://api.example.com/named/docs", "20.0.0.1"}},
			{"http on 8080", "20.0.0.1", "", []corev1.ServicePort{{Name: "status", Port: 15021}, {Name: "http", Port: 8080}},
				wantStatus{"https://20.0.0.1:8080/plain", "", "20.0.0.1"},
				wantStatus{"https://api.example.com:8080/named", "https://api.example.com:8080/named/docs", "20.0.0.1"}},
			{"http on 443", "20.0.0.1", "", []corev1.ServicePort{{Name: "http", Port: 443}},
				wantStatus{"https://20.0.0.1/plain", "", "20.0.0.1"},
				wantStatus{"https://api.example.com/named", "https://api.example.com/named/docs", "20.0.0.1"}},
			{"first http-named port is http2 on 8443", "20.0.0.1", "", []corev1.ServicePort{{Name: "https", Port: 443}, {Name: "http2", Port: 8443}, {Name: "http", Port: 80}},
				wantStatus{"https://20.0.0.1:8443/plain", "", "20.0.0.1"},
				wantStatus{"https://api.example.com:8443/named", "https://api.example.com:8443/named/docs", "20.0.0.1"}},
			{"ingress hostname", "", "lb.example.net", []corev1.ServicePort{{Name: "http2", Port: 80}},
				wantStatus{"https://lb.example.net/plain", "", "lb.example.net"},
				wantStatus{"https://api.example.com/named", "https://api.example.com/named/docs", "lb.example.net"}},
		}
		// Each case changes the URLs: a case that expects what the one before left would
		// pass before the operator had seen its Service.
		for i, c := range cases {
			if i > 0 {
				require.NotEqual(t, cases[i-1].plain.url, c.plain.url, "case %q", c.name)
			}
			t.Run(c.name, func(t *testing.T) {
				env.Gateway(t, c.ip, c.host, c.ports...)
				waitAPIStatus(t, env, plain, c.plain, "Ready")
				waitAPIStatus(t, env, named, c.named, "Ready")
			})
		}
		op.Stop()

		// A public host name replaces the ingress address, and is the VirtualService's host.
		for _, pub := range []struct{ host, url string }{
			{"198.51.100.7", "https://198.51.100.7/plain"},
			{"apis.example.org", "https://apis.example.org/plain"},
		} {
			t.Run("public hostname "+pub.host, func(t *testing.T) {
				o := harness.DefaultOptions()
				o.PublicHostname = pub.host
				op := harness.StartOperator(t, env, o)
				defer op.Stop()
				waitAPIStatus(t, env, plain, wantStatus{pub.url, "", pub.host}, "Ready")
				waitAPIStatus(t, env, named, wantStatus{"https://api.example.com/named", "https://api.example.com/named/docs", pub.host}, "Ready")
				virtualService(t, env, named, routeIs(pub.host, "component-gateway", "/named", "impl", 8080))
			})
		}
	})
}

func TestSettings(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		ctx := context.Background()
		env := harness.Start(t, set)
		watched, ignored := env.Namespace(t, "watched"), env.Namespace(t, "ignored")
		env.Gateway(t, "20.0.0.1", "")
		outside := harness.API(ignored, "outside", "/outside", "impl", 8080)
		require.NoError(t, env.Client.Create(ctx, outside))

		o := harness.DefaultOptions()
		o.Namespaces = []string{watched}
		o.ComponentGateway = "istio-system/public-gateway"
		harness.StartOperator(t, env, o)
		inside := harness.API(watched, "inside", "/inside", "impl", 8080)
		require.NoError(t, env.Client.Create(ctx, inside))
		virtualService(t, env, inside, routeIs("*", "istio-system/public-gateway", "/inside", "impl", 8080))

		// The API outside --namespaces was there first and still has no route nor status.
		got := &odav1.ExposedAPI{}
		require.NoError(t, env.Client.Get(ctx, client.ObjectKeyFromObject(outside), got))
		require.Nil(t, got.Status.APIStatus, "an API outside the watched namespaces gets no status")
		err := env.Client.Get(ctx, client.ObjectKeyFromObject(outside), &networkingv1VirtualService{})
		require.True(t, isNotFound(err), "no VirtualService for an API outside the watched namespaces: %v", err)
	})
}

// TestHostnameAnyAndFullyQualified: hostname "*" routes any host and is reachable at the
// ingress address, as an unset hostname is; a fully qualified name routes and is reachable
// at the name without its trailing dot.
func TestHostnameAnyAndFullyQualified(t *testing.T) {
	harness.EachCRDSet(t, func(t *testing.T, set harness.CRDSet) {
		ctx := context.Background()
		env, ns := startWithImpl(t, set)
		anyHost := harness.API(ns, "any-host", "/any", "impl", 8080)
		anyHost.Spec.Hostname = "*"
		fqdn := harness.API(ns, "fqdn", "/fqdn", "impl", 8080)
		fqdn.Spec.Hostname, fqdn.Spec.DeveloperUI = "api.example.com.", "/fqdn/docs"
		for _, api := range []*odav1.ExposedAPI{anyHost, fqdn} {
			require.NoError(t, env.Client.Create(ctx, api))
		}
		waitAPIStatus(t, env, anyHost, wantStatus{"https://20.0.0.1/any", "", "20.0.0.1"}, "Ready")
		virtualService(t, env, anyHost, routeIs("*", "component-gateway", "/any", "impl", 8080))
		waitAPIStatus(t, env, fqdn, wantStatus{"https://api.example.com/fqdn", "https://api.example.com/fqdn/docs", "20.0.0.1"}, "Ready")
		virtualService(t, env, fqdn, routeIs("api.example.com", "component-gateway", "/fqdn", "impl", 8080))

		// Written either way, it is one host: the younger claim is in conflict.
		plain := harness.API(ns, "plain", "/fqdn", "impl", 8080)
		plain.Spec.Hostname = "api.example.com"
		require.NoError(t, env.Client.Create(ctx, plain))
		waitCondition(t, env, plain, "Accepted", false, "RouteConflict")
	})
}
