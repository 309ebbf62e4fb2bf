package app

import (
	"math"
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSetMemoryLimit(t *testing.T) {
	defer debug.SetMemoryLimit(math.MaxInt64)
	env := func(vars map[string]string) func(string) string { return func(k string) string { return vars[k] } }

	got, err := SetMemoryLimit(env(map[string]string{MemoryLimitEnv: "268435456"}))
	require.NoError(t, err)
	assert.Equal(t, int64(241591905), got)
	assert.Equal(t, int64(241591905), debug.SetMemoryLimit(-1), "the runtime has it")

	debug.SetMemoryLimit(math.MaxInt64)
	got, err = SetMemoryLimit(env(map[string]string{MemoryLimitEnv: "268435456", "GOMEMLIMIT": "100MiB"}))
	require.NoError(t, err)
	assert.Zero(t, got, "GOMEMLIMIT wins")
	assert.Equal(t, int64(math.MaxInt64), debug.SetMemoryLimit(-1))

	got, err = SetMemoryLimit(env(nil))
	require.NoError(t, err)
	assert.Zero(t, got, "no limit, none set")

	for _, bad := range []string{"256Mi", "-1", "0"} {
		_, err = SetMemoryLimit(env(map[string]string{MemoryLimitEnv: bad}))
		assert.EqualError(t, err, `MEMORY_LIMIT_BYTES="`+bad+`": want the container's memory limit in bytes`)
	}
}

func TestSetGCPercent(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	env := func(vars map[string]string) func(string) string { return func(k string) string { return vars[k] } }

	debug.SetGCPercent(100)
	assert.Equal(t, DefaultGCPercent, SetGCPercent(env(nil)))
	assert.Equal(t, DefaultGCPercent, debug.SetGCPercent(DefaultGCPercent), "the runtime has it")

	debug.SetGCPercent(80) // as the runtime reads GOGC=80 at start
	assert.Equal(t, 80, SetGCPercent(env(map[string]string{"GOGC": "80"})), "GOGC wins")
	assert.Equal(t, 80, debug.SetGCPercent(80))
}
