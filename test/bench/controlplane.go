package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/oda-canvas/api-operator-istio/internal/app"
	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// plane is the control plane, an admin client that is not rate limited (exempt from API
// Priority and Fairness, as system:masters), and two service accounts as a cluster has
// them: the operator's (also the floor's) and another controller's. Both fall under the
// service-accounts FlowSchema, in the same priority level (workload-low).
type plane struct {
	env        *envtest.Environment
	admin      client.Client
	kubeconfig string // the operator's
	operator   *rest.Config
	other      *rest.Config
	dir        string
}

func startPlane(c config) (*plane, error) {
	istio, err := harness.FindModuleDir("istio.io/api")
	if err != nil {
		return nil, err
	}
	env := &envtest.Environment{
		BinaryAssetsDirectory: c.assets,
		CRDInstallOptions: envtest.CRDInstallOptions{Paths: []string{
			filepath.Join(c.root, "config", "crd", "bases"), filepath.Join(c.root, "test", "crds"),
			filepath.Join(istio, "kubernetes", "customresourcedefinitions.gen.yaml"),
		}, ErrorIfPathMissing: true},
		WebhookInstallOptions: envtest.WebhookInstallOptions{Paths: []string{filepath.Join(c.root, "config", "webhook")}},
	}
	// Profiling is off in envtest's defaults; --apiserver-profile reads /debug/pprof.
	// The bench's cleanups delete collections of up to 5000 items, which one worker (the
	// default) deletes one at a time. No timed run deletes one.
	args := env.ControlPlane.GetAPIServer().Configure()
	args.Set("profiling", "true")
	args.Set("delete-collection-workers", "8")
	// A collection of 5000 deleted beside other cleanups took over the default minute on a
	// slow afternoon, and the API server cut it off (2026-12-05 12:48). No timed request
	// comes near it.
	args.Set("request-timeout", "5m")
	cfg, err := env.Start()
	if err != nil {
		return nil, err
	}
	p := &plane{env: env}
	if p.dir, err = os.MkdirTemp("", "bench-"); err != nil {
		return nil, err
	}
	fast := rest.CopyConfig(cfg)
	fast.QPS, fast.Burst = 2000, 4000
	if p.admin, err = client.New(fast, client.Options{Scheme: app.Scheme()}); err != nil {
		return nil, err
	}
	if p.operator, err = p.serviceAccount(operatorAccount); err != nil {
		return nil, err
	}
	if p.other, err = p.serviceAccount("other-controller"); err != nil {
		return nil, err
	}
	return p, nil
}

// serviceAccount is a client identity as a pod's service account has it, bound to
// cluster-admin, without a client-side rate limit. The operator's is also written as p.kubeconfig.
func (p *plane) serviceAccount(name string) (*rest.Config, error) {
	user := "system:serviceaccount:" + operatorAccountNamespace + ":" + name
	u, err := p.env.AddUser(envtest.User{Name: user, Groups: []string{"system:serviceaccounts", "system:serviceaccounts:bench", "system:authenticated"}}, nil)
	if err != nil {
		return nil, err
	}
	binding := &rbacv1.ClusterRoleBinding{ObjectMeta: objectMeta("", "bench-"+name),
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects: []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: user}}}
	if err := p.admin.Create(context.Background(), binding); err != nil {
		return nil, err
	}
	if name == operatorAccount {
		raw, err := u.KubeConfig()
		if err != nil {
			return nil, err
		}
		p.kubeconfig = filepath.Join(p.dir, "kubeconfig")
		if err := os.WriteFile(p.kubeconfig, raw, 0o600); err != nil {
			return nil, err
		}
	}
	cfg := rest.CopyConfig(u.Config())
	cfg.QPS, cfg.Burst = -1, 0
	return cfg, nil
}

func (p *plane) stop() {
	_ = p.env.Stop()
	_ = os.RemoveAll(p.dir)
}

// parallel runs fn(i) for i in [0, n) on workers goroutines and returns the first error.
func parallel(n, workers int, fn func(i int) error) error {
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	next := make(chan int)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(i); err != nil {
					once.Do(func() { first = err })
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	return first
}

func (p *plane) namespace(ctx context.Context, name string) error {
	return p.admin.Create(ctx, &corev1.Namespace{ObjectMeta: objectMeta("", name)})
}

// warm lists every custom resource once. The API server builds a CRD's handler (schemas,
// validation rules) on the first request for it, a second for the largest; a cluster has
// done that long before the operator starts, and neither run should pay it.
func (p *plane) warm(ctx context.Context) error {
	var crds apiextensionsv1.CustomResourceDefinitionList
	if err := p.admin.List(ctx, &crds); err != nil {
		return err
	}
	for _, crd := range crds.Items {
		for _, v := range crd.Spec.Versions {
			if !v.Served {
				continue
			}
			list := &unstructured.UnstructuredList{}
			list.SetGroupVersionKind(schema.GroupVersionKind{Group: crd.Spec.Group, Version: v.Name, Kind: crd.Spec.Names.ListKind})
			if err := p.admin.List(ctx, list, client.Limit(1)); err != nil {
				return fmt.Errorf("listing %s: %w", crd.Name, err)
			}
		}
	}
	return nil
}

// settle compacts etcd's history to its current revision and defragments it, as a cluster's
// API server (every five minutes) and its etcd operators do: each timed run then starts from
// the same footing, not after the history every earlier run left.
func (p *plane) settle(ctx context.Context) error {
	start := time.Now()
	endpoint := p.env.ControlPlane.Etcd.URL.String()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, DialTimeout: 5 * time.Second})
	if err != nil {
		return err
	}
	defer cli.Close()
	head, err := cli.Get(ctx, "bench-settle-probe")
	if err != nil {
		return err
	}
	if _, err := cli.Compact(ctx, head.Header.Revision, clientv3.WithCompactPhysical()); err != nil {
		return fmt.Errorf("compacting etcd: %w", err)
	}
	if _, err := cli.Defragment(ctx, endpoint); err != nil {
		return fmt.Errorf("defragmenting etcd: %w", err)
	}
	if d := time.Since(start); d > time.Second {
		say("etcd compacted and defragmented in %s", d.Round(100*time.Millisecond))
	}
	return nil
}
