package webhooks

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// printable escapes the control characters of a warning: the API server drops a warning
// that holds one (DEL and the C1 range among them, which JSON leaves as they are), and with
// it what it names.
func printable(w string) string {
	if strings.IndexFunc(w, unicode.IsControl) < 0 {
		return w
	}
	var b strings.Builder
	for _, r := range w {
		if unicode.IsControl(r) {
			fmt.Fprintf(&b, `\u%04x`, r)
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func printables(ws []string) []string {
	for i, w := range ws {
		ws[i] = printable(w)
	}
	return ws
}

// asWritten is v as JSON, its characters as the user wrote them (no HTML escapes: a URL's
// & stays &) but for control characters, escaped.
func asWritten(v any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return printable(strings.TrimSuffix(buf.String(), "\n"))
}

// validatorBudget is what the validator's warnings may take: the rest of the 4096
// characters after which the API server cuts every warning of the response short, the
// defaulter's (warningBudget) among them, less room for the API server's own.
const validatorBudget = 4096 - warningBudget - 256

// warningsOf are errs as warnings, as many as fit in validatorBudget, then a count of the
// others.
func warningsOf(errs field.ErrorList) []string {
	out := make([]string, 0, len(errs))
	left := validatorBudget
	for i, e := range errs {
		w := printable(e.Error())
		if n := utf8.RuneCountInString(w); n <= left {
			out = append(out, w)
			left -= n
			continue
		}
		more := "problem"
		if len(errs)-i > 1 {
			more += "s"
		}
		return append(out, fmt.Sprintf("spec: %d more %s of the stored spec not shown here (too long for a warning); a change of the spec is refused until they are fixed", len(errs)-i, more))
	}
	return out
}
