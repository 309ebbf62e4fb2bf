// Package namespaces reads COMPONENT_NAMESPACE as kopf reads the -n options the canvas's
// chart gives the Python operator: each comma-separated entry is a pattern (a name, a glob
// with *, ? or [...], or a glob after ! meaning every namespace but those), and a namespace
// is served when any entry matches it.
package namespaces

import (
	"fmt"
	"path"
	"strings"

	k8svalidation "k8s.io/apimachinery/pkg/util/validation"
)

// Selector decides which namespaces the operator serves. The zero Selector serves all.
type Selector struct {
	entries []entry
}

type entry struct {
	raw    string
	glob   string // in Go's path.Match syntax
	negate bool
}

// Parse reads the entries; a pattern that no namespace name can match is refused, naming
// it, since it would silently serve nothing.
func Parse(entries []string) (Selector, error) {
	var s Selector
	for _, raw := range entries {
		e := entry{raw: raw, glob: globOf(strings.TrimPrefix(raw, "!")), negate: strings.HasPrefix(raw, "!")}
		if err := e.check(); err != nil {
			return Selector{}, err
		}
		s.entries = append(s.entries, e)
	}
	return s, nil
}

// globOf writes a pattern of Python's fnmatch, as kopf reads it, in Go's path.Match syntax.
// fnmatch has no escapes, so a backslash is itself; a '[' with no closing ']' is itself too.
func globOf(pattern string) string {
	var b strings.Builder
	for i := 0; i < len(pattern); i++ {
		switch c := pattern[i]; c {
		case '\\':
			b.WriteString(`\\`)
		case '[':
			class, n := classOf(pattern[i:])
			if n == 0 {
				b.WriteString(`\[`)
				continue
			}
			b.WriteString(class)
			i += n - 1
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// classOf reads the class p starts with as fnmatch does, and writes it in path.Match's
// syntax; n is how many bytes of p it took, 0 when it has no closing ']'. In fnmatch "[!"
// negates (path.Match's "[^"), a ']' first in the class and a '-' first or last are
// themselves, and '^' is itself: path.Match needs those escaped.
func classOf(p string) (class string, n int) {
	j := 1
	if j < len(p) && p[j] == '!' {
		j++
	}
	if j < len(p) && p[j] == ']' {
		j++
	}
	for j < len(p) && p[j] != ']' {
		j++
	}
	if j >= len(p) {
		return "", 0
	}
	body := p[1:j]
	var b strings.Builder
	b.WriteByte('[')
	if strings.HasPrefix(body, "!") {
		b.WriteByte('^')
		body = body[1:]
	}
	for k := 0; k < len(body); k++ {
		c := body[k]
		if strings.IndexByte(`]\^[`, c) >= 0 || c == '-' && (k == 0 || k == len(body)-1) {
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	b.WriteByte(']')
	return b.String(), j + 1
}

func (e entry) check() error {
	if _, err := path.Match(e.glob, ""); err != nil {
		return fmt.Errorf("namespace pattern %q is not a valid glob: %w", e.raw, err)
	}
	if !e.canMatchAName() {
		what := "matches no namespace name"
		if e.negate {
			what = "excludes nothing: the part after ! " + what
		}
		return fmt.Errorf("namespace pattern %q %s (names are lower-case letters, digits and '-', start and end with a letter or digit, at most 63 characters)", e.raw, what)
	}
	return nil
}

// canMatchAName tries names built from the glob (each * as nothing, then as "a"; each ?
// and class as a letter or digit where it can be one) and reports whether one is a
// namespace name the glob matches. Every glob that a real namespace can match yields one.
func (e entry) canMatchAName() bool {
	for _, star := range []string{"", "a"} {
		name := witness(e.glob, star)
		if len(k8svalidation.IsDNS1123Label(name)) == 0 {
			if ok, _ := path.Match(e.glob, name); ok {
				return true
			}
		}
	}
	return false
}

func witness(glob, star string) string {
	var b strings.Builder
	for i := 0; i < len(glob); i++ {
		switch c := glob[i]; c {
		case '*':
			b.WriteString(star)
		case '?':
			b.WriteByte('a')
		case '[':
			end := classEnd(glob, i)
			if end < 0 {
				return ""
			}
			b.WriteByte(classMember(glob[i : end+1]))
			i = end
		case '\\':
			if i+1 < len(glob) {
				i++
				b.WriteByte(glob[i])
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// classEnd is the index of the ']' that closes the class glob[i] opens, past escaped
// characters; -1 for none.
func classEnd(glob string, i int) int {
	for j := i + 1; j < len(glob); j++ {
		switch glob[j] {
		case '\\':
			j++
		case ']':
			return j
		}
	}
	return -1
}

// classMember is a character of a name that the class matches, letters and digits first.
func classMember(class string) byte {
	for _, c := range []byte("abcdefghijklmnopqrstuvwxyz0123456789-") {
		if ok, _ := path.Match(class, string(c)); ok {
			return c
		}
	}
	return '_' // no name character: the witness is not a name
}

// All reports whether every namespace is served (no entries).
func (s Selector) All() bool { return len(s.entries) == 0 }

// Names are the entries when every one is a plain name, else nil (nil too when all are
// served): plain names keep per-namespace caches and RBAC, patterns need cluster-wide watches.
func (s Selector) Names() []string {
	if s.All() {
		return nil
	}
	names := make([]string, 0, len(s.entries))
	for _, e := range s.entries {
		if e.negate || strings.ContainsAny(e.raw, `*?[\`) {
			return nil
		}
		names = append(names, e.raw)
	}
	return names
}

// Matches reports whether namespace ns is served. Cluster-scoped objects (ns "") are
// always let through: their watches are not the namespaces' concern.
func (s Selector) Matches(ns string) bool {
	if ns == "" || s.All() {
		return true
	}
	for _, e := range s.entries {
		ok, _ := path.Match(e.glob, ns)
		if ok != e.negate {
			return true
		}
	}
	return false
}

// String is the entries as COMPONENT_NAMESPACE writes them.
func (s Selector) String() string {
	raws := make([]string, len(s.entries))
	for i, e := range s.entries {
		raws[i] = e.raw
	}
	return strings.Join(raws, ",")
}
