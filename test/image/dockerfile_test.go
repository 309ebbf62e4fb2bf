// Package image checks the Dockerfile without a Docker engine (none runs on the build
// machines): its build stage is replayed on a copy holding only what it copies in, and the
// final stage is checked against what the chart's pod security settings need.
package image

import (
	"bufio"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oda-canvas/api-operator-istio/test/harness"
)

// instruction is one Dockerfile line: its keyword and the rest, with ARG defaults
// substituted.
type instruction struct{ op, args string }

func readDockerfile(t *testing.T) []instruction {
	f, err := os.Open(filepath.Join(harness.RepoRoot(t), "Dockerfile"))
	require.NoError(t, err)
	defer f.Close()
	var out []instruction
	args := map[string]string{}
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := strings.TrimSpace(s.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		op, rest, _ := strings.Cut(line, " ")
		op = strings.ToUpper(op)
		if op == "ARG" {
			for _, kv := range strings.Fields(rest) {
				k, v, _ := strings.Cut(kv, "=")
				args[k] = v
			}
		}
		for k, v := range args {
			rest = strings.ReplaceAll(rest, "$"+k, v)
		}
		out = append(out, instruction{op, rest})
	}
	require.NoError(t, s.Err())
	return out
}

// TestBuildStage replays the build stage in a directory holding only go.mod, go.sum and
// what the Dockerfile copies (minus .dockerignore), so a package added outside those
// directories fails here rather than in a release; the binary must be static, as the
// distroless static base has no C library.
func TestBuildStage(t *testing.T) {
	root, ctx := harness.RepoRoot(t), t.TempDir()
	ignored := dockerignore(t, root)
	var run string
	for _, in := range buildStage(t) {
		switch in.op {
		case "COPY":
			fields := strings.Fields(in.args)
			for _, src := range fields[:len(fields)-1] {
				src = strings.TrimSuffix(src, "/")
				require.False(t, ignored[src], "%s is copied but .dockerignore leaves it out", src)
				copyTree(t, filepath.Join(root, src), filepath.Join(ctx, src))
			}
		case "RUN":
			if !strings.HasPrefix(in.args, "go mod download") {
				run = in.args
			}
		}
	}
	require.Contains(t, run, "go build")
	run = strings.ReplaceAll(run, "/out/", filepath.Join(ctx, "out")+"/")
	cmd := exec.Command("sh", "-c", run)
	cmd.Dir = ctx
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "the build stage fails on what the Dockerfile copies:\n%s", out)

	bin, err := elf.Open(filepath.Join(ctx, "out", "api-operator-istio"))
	require.NoError(t, err)
	defer bin.Close()
	for _, p := range bin.Progs {
		assert.NotEqual(t, elf.PT_INTERP, p.Type, "the binary needs a dynamic loader; the base image has none")
	}
}

// TestFinalStage: the image runs as a numeric non-root user (the kubelet can only check
// runAsNonRoot against a numeric one) from the distroless static base, and the builder's Go
// is the one go.mod asks for.
func TestFinalStage(t *testing.T) {
	var froms []string
	var user, entrypoint string
	for _, in := range readDockerfile(t) {
		switch in.op {
		case "FROM":
			froms = append(froms, in.args)
		case "USER":
			user = in.args
		case "ENTRYPOINT":
			entrypoint = in.args
		}
	}
	require.Len(t, froms, 2, "a build stage and a final stage")
	assert.True(t, strings.HasPrefix(froms[1], "gcr.io/distroless/static"), "final base %s", froms[1])
	assert.Contains(t, froms[1], "nonroot")
	assert.Regexp(t, `^[1-9][0-9]*:[1-9][0-9]*$`, user, "numeric non-root user and group")
	assert.Equal(t, `["/api-operator-istio"]`, entrypoint)

	goMod, err := os.ReadFile(filepath.Join(harness.RepoRoot(t), "go.mod"))
	require.NoError(t, err)
	want := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(goMod)
	require.NotNil(t, want)
	assert.True(t, strings.HasPrefix(froms[0], "golang:"+string(want[1])), "builder %s for go %s", froms[0], want[1])
}

func buildStage(t *testing.T) []instruction {
	var out []instruction
	for i, in := range readDockerfile(t) {
		if in.op == "FROM" && i > 0 {
			return out
		}
		out = append(out, in)
	}
	t.Fatal("no final stage")
	return nil
}

func dockerignore(t *testing.T, root string) map[string]bool {
	raw, err := os.ReadFile(filepath.Join(root, ".dockerignore"))
	require.NoError(t, err)
	out := map[string]bool{}
	for _, line := range strings.Split(string(raw), "\n") {
		if line = strings.TrimSuffix(strings.TrimSpace(line), "/"); line != "" && !strings.HasPrefix(line, "#") {
			out[line] = true
		}
	}
	return out
}

func copyTree(t *testing.T, src, dst string) {
	out, err := exec.Command("cp", "-R", src, dst).CombinedOutput()
	require.NoError(t, err, string(out))
}
