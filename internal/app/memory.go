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
