package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"k8s.io/client-go/rest"
)

// apiserverProfile starts a CPU profile of the API server (its /debug/pprof, as an admin
// may read it) for c.apiserverProfileSecs and returns a func that waits for it and writes
// it to bin/bench-apiserver-<name>.pprof: where the API server spends a run's CPU, so that
// the floor's and the operator's runs can be compared (go tool pprof -diff_base). Only the
// first round's runs at c.apiserverProfileN are profiled; otherwise the func does nothing.
func apiserverProfile(ctx context.Context, p *plane, c config, name string, n int, first bool) func() {
	if !first || n != c.apiserverProfileN {
		return func() {}
	}
	path := filepath.Join(c.root, "bin", "bench-apiserver-"+name+".pprof")
	done := make(chan error, 1)
	go func() { done <- fetchAPIServerProfile(ctx, p.env.Config, c.apiserverProfileSecs, path) }()
	return func() {
		if err := <-done; err != nil {
			say("API server profile %s: %v", name, err)
			return
		}
		say("API server profile: %s", path)
	}
}

func fetchAPIServerProfile(ctx context.Context, cfg *rest.Config, secs int, path string) error {
	cl, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return err
	}
	return download(ctx, cl, fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", strings.TrimSuffix(cfg.Host, "/"), secs), path)
}

// download writes the body of a successful GET of url by cl to path.
func download(ctx context.Context, cl *http.Client, url, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := cl.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", resp.Status, raw)
	}
	return os.WriteFile(path, raw, 0o644)
}
