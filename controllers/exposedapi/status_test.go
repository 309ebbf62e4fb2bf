package exposedapi

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
)

func TestNoteFitsAnEvent(t *testing.T) {
	assert.Equal(t, "short", note("short"))
	long := strings.Repeat("é", 600) // 1200 bytes
	got := note(long)
	assert.LessOrEqual(t, len(got), maxNote)
	assert.True(t, utf8.ValidString(got), "cut between characters")
	assert.True(t, strings.HasSuffix(got, "(see the condition)"))
}
