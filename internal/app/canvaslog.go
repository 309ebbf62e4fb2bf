package app

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"go.uber.org/zap/buffer"
	"go.uber.org/zap/zapcore"
)

// Log formats of --log-format.
const (
	LogFormatJSON   = "json"
	LogFormatCanvas = "canvas"
)

// LogFormats are the values --log-format takes.
var LogFormats = []string{LogFormatJSON, LogFormatCanvas}

// canvasEncoder writes the lines of the canvas's Python operators (kopf's plain format
// around their logWrapper), which the canvas's log viewer, `kubectl canvaslogs apiistio`,
// parses into a tree of component, resource, logger and handler:
//
//	[2026-12-06 09:10:11,123] APIOperator          [INFO    ] [r1|exposedapi/r1-api|exposedapi|] status written: ready=true
//
// A line of no component or resource leaves out the bracketed part, as the Python
// operators' own lines outside a handler do.
type canvasEncoder struct {
	*zapcore.MapObjectEncoder
}

var canvasBuffers = buffer.NewPool()

func newCanvasEncoder() zapcore.Encoder {
	return canvasEncoder{zapcore.NewMapObjectEncoder()}
}

func (e canvasEncoder) Clone() zapcore.Encoder {
	c := zapcore.NewMapObjectEncoder()
	maps.Copy(c.Fields, e.Fields)
	return canvasEncoder{c}
}

func (e canvasEncoder) EncodeEntry(ent zapcore.Entry, fields []zapcore.Field) (*buffer.Buffer, error) {
	all := e.Clone().(canvasEncoder)
	for _, f := range fields {
		f.AddTo(all)
	}
	kv := all.Fields
	buf := canvasBuffers.Get()
	fmt.Fprintf(buf, "[%s] %-20s [%-8s] ", ent.Time.Format("2006-01-02 15:04:05,000"), canvasLogger(ent.LoggerName), canvasLevel(ent.Level))
	if where := takeWhere(kv); where != "" {
		buf.AppendString(where)
		buf.AppendString(canvasSubject(ent.Message))
		buf.AppendString(": ")
		buf.AppendString(orDash(canvasPairs(kv)))
	} else {
		buf.AppendString(strings.TrimSpace(oneLine(ent.Message) + " " + canvasPairs(kv)))
	}
	if ent.Stack != "" {
		// On lines of their own, as a Python traceback: the viewer adds them to the entry.
		buf.AppendString("\n" + ent.Stack)
	}
	buf.AppendByte('\n')
	return buf, nil
}

// takeWhere is the "[component|resource|handler|function] " of a reconcile's line,
// removing from kv the keys it names; empty when the line is of neither a component nor a
// resource. The reconcilers' loggers carry controller-runtime's keys (controller,
// controllerKind, name) and, once the ExposedAPI reconciler has read the API, its
// component: controller-runtime's own "Reconciler error" has the resource alone.
func takeWhere(kv map[string]any) string {
	kind, _ := kv["controllerKind"].(string)
	name, _ := kv["name"].(string)
	component, _ := kv["component"].(string)
	if component == "" && kind == "Component" {
		component = name
	}
	resource := ""
	if name != "" && kind != "" {
		resource = strings.ToLower(kind) + "/" + name
		delete(kv, "name")
	}
	if component == "" && resource == "" {
		return ""
	}
	handler, _ := kv["controller"].(string)
	for _, k := range []string{"component", "controller", "controllerGroup", "controllerKind", kind} {
		delete(kv, k)
	}
	return "[" + canvasField(component) + "|" + canvasField(resource) + "|" + canvasField(handler) + "|] "
}

// canvasField keeps a name from ending its bracketed field early.
func canvasField(s string) string { return fieldBreaks.Replace(s) }

var fieldBreaks = strings.NewReplacer("|", "_", "]", "_", "\n", " ")

// canvasSubject is the message on one line, without the leading colons that would leave
// the viewer's subject empty. The viewer ends the subject at the first colon: the rest of a
// message holding one goes to the viewer's message, before the key=value pairs.
func canvasSubject(msg string) string {
	if msg = strings.TrimLeft(oneLine(msg), ": "); msg == "" {
		return "-"
	}
	return msg
}

// oneLine keeps a message on its line: a line after it would be read as more of it.
func oneLine(s string) string {
	return strings.ReplaceAll(s, "\n", " ")
}

func orDash(s string) string {
	if s == "" {
		// The viewer needs something after "subject: ", and follow mode strips trailing space.
		return "-"
	}
	return s
}

// canvasPairs writes the remaining keys as key=value, in key order.
func canvasPairs(kv map[string]any) string {
	keys := slices.Sorted(maps.Keys(kv))
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+"="+canvasValue(kv[k]))
	}
	return strings.Join(parts, " ")
}

func canvasValue(v any) string {
	switch x := v.(type) {
	case string:
		return quoteIfNeeded(x)
	case time.Duration:
		return x.String()
	case time.Time:
		return x.Format(time.RFC3339Nano)
	case fmt.Stringer:
		return quoteIfNeeded(x.String())
	}
	b, err := json.Marshal(v)
	if err != nil {
		return quoteIfNeeded(fmt.Sprint(v))
	}
	return string(b)
}

// quoteIfNeeded quotes a value that would not read back as one value on one line.
func quoteIfNeeded(s string) string {
	if s == "" || strings.ContainsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || r == '"' || r == '=' || !unicode.IsPrint(r)
	}) {
		return strconv.Quote(s)
	}
	return s
}

// canvasLogger is kopf's logger column; the Python operator's logger is APIOperator.
func canvasLogger(name string) string {
	if name == "" {
		return "APIOperator"
	}
	return strings.ReplaceAll(name, " ", "_")
}

// canvasLevel is Python's level name.
func canvasLevel(l zapcore.Level) string {
	switch {
	case l < zapcore.InfoLevel:
		return "DEBUG"
	case l == zapcore.InfoLevel:
		return "INFO"
	case l == zapcore.WarnLevel:
		return "WARNING"
	case l == zapcore.ErrorLevel:
		return "ERROR"
	}
	return "CRITICAL"
}
