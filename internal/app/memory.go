package app

import (
	"fmt"
	"runtime/debug"
	"strconv"
)

// MemoryLimitEnv carries the container's memory limit in bytes; the chart fills it from the
// downward API.
const MemoryLimitEnv = "MEMORY_LIMIT_BYTES"

// SetMemoryLimit gives the Go runtime a soft limit of 90% of the container's memory limit,
// so that the garbage collector works harder before the kernel would kill the process
// (the informer caches grow with the cluster). GOMEMLIMIT, when set, wins. It returns the
// limit it set, 0 when it set none.
func SetMemoryLimit(getenv func(string) string) (int64, error) {
	raw := getenv(MemoryLimitEnv)
	if raw == "" || getenv("GOMEMLIMIT") != "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%s=%q: want the container's memory limit in bytes", MemoryLimitEnv, raw)
	}
	limit := n / 10 * 9
	debug.SetMemoryLimit(limit)
	return limit, nil
}

// DefaultGCPercent is the garbage collector's target when GOGC is not set: the heap may
// grow by half its live size between collections rather than double. Most of the heap is
// the informer caches, which live as long as the process, so the default of 100 would hold
// about as much garbage as there are cached objects.
const DefaultGCPercent = 50

// SetGCPercent sets DefaultGCPercent unless GOGC is set, and returns the percent in force.
func SetGCPercent(getenv func(string) string) int {
	if getenv("GOGC") != "" {
		pct := debug.SetGCPercent(100)
		debug.SetGCPercent(pct)
		return pct
	}
	debug.SetGCPercent(DefaultGCPercent)
	return DefaultGCPercent
}
