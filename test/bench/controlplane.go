package main

import (
	"context"
	"os"
	"path/filepath"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/oda-canvas/api-operator-istio/internal/app"
	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// plane is the control plane and an admin client that is not rate limited.
type plane struct {
	env        *envtest.Environment
	admin      client.Client
	kubeconfig string
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
	user, err := env.AddUser(envtest.User{Name: "operator", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return nil, err
	}
	raw, err := user.KubeConfig()
	if err != nil {
		return nil, err
	}
	p.kubeconfig = filepath.Join(p.dir, "kubeconfig")
	return p, os.WriteFile(p.kubeconfig, raw, 0o600)
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
