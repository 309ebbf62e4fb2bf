package app

import (
	"bytes"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/types"
)

// canvasLine is the line pattern of the canvas's log viewer (showlogtree.py's LINE_RX,
// tmforum-oda/oda-canvas source/utilities/canvas-log-viewer/python_alternative).
var canvasLine = regexp.MustCompile(`\[(?P<time>[-0-9 :,.]+)\]\s+(?P<logger>[^ ]+)\s+\[(?P<level>[A-Z]+)\s*\]\s+` +
	`(\[(?P<component>[^|]*)\|(?P<resource>[^|]*)\|(?P<handler>[^|]*)\|(?P<function>[^\]]*)\]\s+(?P<subject>[^:]+):\s+|` +
	`\[(?P<resourceonly>[^\]|]*)\]\s+|)(?P<message>.*)`)

// parseCanvasLine is what the viewer reads of a line; nil when it does not match, and the
// viewer would add it to the entry before.
func parseCanvasLine(line string) map[string]string {
	m := canvasLine.FindStringSubmatch(line)
	if m == nil || m[0] != line {
		return nil
	}
	out := map[string]string{}
	for i, name := range canvasLine.SubexpNames() {
		if name != "" {
			out[name] = m[i]
		}
	}
	return out
}

func canvasTestLogger(t *testing.T) (logr.Logger, *bytes.Buffer) {
	out := &bytes.Buffer{}
	log, err := NewLoggerTo(&Options{LogLevel: "debug", LogFormat: LogFormatCanvas}, out)
	require.NoError(t, err)
	return log, out
}

func TestCanvasLogFormat(t *testing.T) {
	log, out := canvasTestLogger(t)
	// The keys controller-runtime gives a reconciler's logger, and the component the
	// ExposedAPI reconciler adds.
	api := log.WithValues("controller", "exposedapi", "controllerGroup", "oda.tmforum.org", "controllerKind", "ExposedAPI",
		"ExposedAPI", types.NamespacedName{Namespace: "components", Name: "r1-productcatalog"},
		"namespace", "components", "name", "r1-productcatalog", "reconcileID", "a1b2").WithValues("component", "r1")
	api.V(1).Info("status written", "ready", true)
	api.Error(errors.New("conflict:\nthe object was modified"), "writing the VirtualService")
	log.WithValues("controller", "exposedapi", "controllerKind", "ExposedAPI", "namespace", "components", "name", "r1-productcatalog").
		Error(errors.New("boom"), "Reconciler error")
	component := log.WithValues("controller", "component", "controllerGroup", "oda.tmforum.org", "controllerKind", "Component",
		"Component", types.NamespacedName{Namespace: "components", Name: "r1"}, "namespace", "components", "name", "r1", "reconcileID", "c3")
	component.Info("Component status written")
	log.WithName("ca-injector").Info("CA bundle not written yet, trying again", "reason", "not found")
	log.Info("starting", "namespaces", []string{"components"}, "publicHostname", "")
	log.Info("two\nlines")

	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	require.Len(t, lines, 7, "one line per entry, an error of two lines included:\n%s", out.String())
	var got []map[string]string
	for _, line := range lines {
		e := parseCanvasLine(line)
		require.NotNil(t, e, "the canvas's log viewer does not read %q", line)
		got = append(got, e)
	}

	assert.Equal(t, map[string]string{"level": "DEBUG", "logger": "APIOperator", "component": "r1", "resource": "exposedapi/r1-productcatalog",
		"handler": "exposedapi", "function": "", "subject": "status written", "message": "namespace=components ready=true reconcileID=a1b2"},
		pick(got[0], "level", "logger", "component", "resource", "handler", "function", "subject", "message"))
	assert.Regexp(t, `^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}$`, got[0]["time"], "Python's asctime, which the viewer's --last-hours compares as text")
	assert.Equal(t, "ERROR", got[1]["level"])
	assert.Equal(t, "writing the VirtualService", got[1]["subject"])
	assert.Contains(t, got[1]["message"], `error="conflict:\nthe object was modified"`)
	assert.Equal(t, map[string]string{"component": "", "resource": "exposedapi/r1-productcatalog", "subject": "Reconciler error", "message": "error=boom namespace=components"},
		pick(got[2], "component", "resource", "subject", "message"), "controller-runtime's own line of a reconcile: under the resource")
	assert.Equal(t, map[string]string{"component": "r1", "resource": "component/r1", "handler": "component", "subject": "Component status written"},
		pick(got[3], "component", "resource", "handler", "subject"), "a Component's reconcile is under its own name")
	assert.Equal(t, map[string]string{"logger": "ca-injector", "component": "", "resource": "", "message": "CA bundle not written yet, trying again reason=\"not found\""},
		pick(got[4], "logger", "component", "resource", "message"), "a line of no component has no bracketed part")
	assert.Equal(t, `starting namespaces=["components"] publicHostname=""`, got[5]["message"])
	assert.Equal(t, "two lines", got[6]["message"], "a message on its one line")
}

func pick(m map[string]string, keys ...string) map[string]string {
	out := map[string]string{}
	for _, k := range keys {
		out[k] = m[k]
	}
	return out
}

func TestCanvasLogLevels(t *testing.T) {
	log, out := canvasTestLogger(t)
	log.V(1).Info("d")
	log.Info("i")
	log.Error(nil, "e")
	var levels []string
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		levels = append(levels, parseCanvasLine(line)["level"])
	}
	assert.Equal(t, []string{"DEBUG", "INFO", "ERROR"}, levels)
}

func TestLogFormatValidated(t *testing.T) {
	t.Setenv("APIOPERATORISTIO_LOGFORMAT", "")
	assert.Equal(t, LogFormatJSON, parse(t).LogFormat, "the default")
	require.NoError(t, parse(t, "--log-format=canvas").Validate())
	t.Setenv("APIOPERATORISTIO_LOGFORMAT", "text")
	require.EqualError(t, parse(t).Validate(), `invalid --log-format (env APIOPERATORISTIO_LOGFORMAT) "text": must be one of json, canvas`)
}
