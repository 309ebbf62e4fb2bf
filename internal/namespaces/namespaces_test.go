package namespaces

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMatchesAsKopfDoes(t *testing.T) {
	cases := []struct {
		entries  []string
		served   []string
		unserved []string
	}{
		{[]string{"components", "odacompns-*"}, []string{"components", "odacompns-late", "odacompns-x"}, []string{"other", "components-2", "xodacompns-a"}},
		{[]string{"!kube-*"}, []string{"default", "components"}, []string{"kube-system", "kube-public"}},
		{[]string{"components", "!kube-*"}, []string{"components", "default"}, []string{"kube-system"}},
		{[]string{"team-[ab]"}, []string{"team-a", "team-b"}, []string{"team-c", "team-ab"}},
		{[]string{"team-[!a]"}, []string{"team-b"}, []string{"team-a"}},
		// fnmatch has no "[^...]" negation: the class holds '^' (fnmatch.translate gives `team\-[\^ab]`).
		{[]string{"team-[^ab]"}, []string{"team-a", "team-b"}, []string{"team-c"}},
		{[]string{"ns-?"}, []string{"ns-1"}, []string{"ns-12", "ns-"}},
		// fnmatch takes a '-' first or last in a class, and a ']' first, as themselves, where
		// path.Match refuses them unescaped.
		{[]string{"team[-0-9]*"}, []string{"team-x", "team1"}, []string{"teamx"}},
		{[]string{"team-[a-]"}, []string{"team-a"}, []string{"team-b"}},
		{[]string{"team-[-a]"}, []string{"team-a"}, []string{"team-b"}},
		{[]string{"ns-[!-]"}, []string{"ns-a"}, nil},
		{[]string{"[]a]*"}, []string{"abc"}, []string{"bcd"}},
		{[]string{"[!]a]*"}, []string{"bcd"}, []string{"abc"}},
		{nil, []string{"anything"}, nil},
	}
	for _, c := range cases {
		s, err := Parse(c.entries)
		require.NoError(t, err, c.entries)
		for _, ns := range c.served {
			assert.True(t, s.Matches(ns), "%v serves %s", c.entries, ns)
		}
		for _, ns := range c.unserved {
			assert.False(t, s.Matches(ns), "%v does not serve %s", c.entries, ns)
		}
		assert.True(t, s.Matches(""), "cluster-scoped objects pass")
	}
}

func TestNamesOnlyForPlainNames(t *testing.T) {
	s, err := Parse([]string{"components", "team-b"})
	require.NoError(t, err)
	assert.Equal(t, []string{"components", "team-b"}, s.Names())
	assert.False(t, s.All())
	for _, pattern := range []string{"odacompns-*", "!kube-system", "ns-?", "team-[ab]"} {
		s, err := Parse([]string{"components", pattern})
		require.NoError(t, err)
		assert.Nil(t, s.Names(), "%s needs cluster-wide watches", pattern)
		assert.Equal(t, "components,"+pattern, s.String())
	}
	all, err := Parse(nil)
	require.NoError(t, err)
	assert.True(t, all.All())
}

func TestPatternsThatMatchNoNameAreRefused(t *testing.T) {
	long := strings.Repeat("a", 64)
	refused := map[string]string{
		"Components":  `namespace pattern "Components" matches no namespace name`,
		"odacompns_*": `namespace pattern "odacompns_*" matches no namespace name`,
		"*-":          `namespace pattern "*-" matches no namespace name`,
		"-*":          `namespace pattern "-*" matches no namespace name`,
		long:          `namespace pattern "` + long + `" matches no namespace name`,
		"[A-Z]*":      `namespace pattern "[A-Z]*" matches no namespace name`,
		"!Kube-*":     `namespace pattern "!Kube-*" excludes nothing: the part after ! matches no namespace name`,
		"team-[ab":    `namespace pattern "team-[ab" matches no namespace name`, // fnmatch: an unclosed [ is itself
		`team\-a`:     `namespace pattern "team\\-a" matches no namespace name`, // fnmatch: a backslash is itself
	}
	for pattern, msg := range refused {
		_, err := Parse([]string{"components", pattern})
		require.Error(t, err, pattern)
		assert.Contains(t, err.Error(), msg)
	}
	for _, ok := range []string{"*", "*-*", "a*", "*a", "?", "[ab]*[bc]", "odacompns-*", "!kube-*", strings.Repeat("a", 63)} {
		_, err := Parse([]string{ok})
		assert.NoError(t, err, ok)
	}
}
