package main

import (
	"bytes"
	"math"
	"runtime/debug"
	"strconv"
)

// cgroupMemoryFiles hold the container's memory limit: cgroup v2, then v1.
var cgroupMemoryFiles = []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}

// memoryShare is the part of the container's limit the Go heap may use
// before the collector works harder; the rest is stacks, the binary and
// the runtime's own.
const memoryShare = 0.9

// setMemoryLimit gives the Go runtime a soft memory limit below the
// container's, which it does not read by itself: under load the heap would
// otherwise grow past the limit and the container be killed, where it could
// have collected sooner. GOMEMLIMIT, when set, wins. It returns the limit
// set, or 0 when there is none to follow.
func setMemoryLimit(getenv func(string) string, readFile func(string) ([]byte, error)) int64 {
	if getenv("GOMEMLIMIT") != "" {
		return 0
	}
	for _, f := range cgroupMemoryFiles {
		b, err := readFile(f)
		if err != nil {
			continue
		}
		n, err := strconv.ParseInt(string(bytes.TrimSpace(b)), 10, 64)
		// "max", or v1's near-infinite figure, means no limit.
		if err != nil || n <= 0 || n > math.MaxInt64/2 {
			return 0
		}
		limit := int64(float64(n) * memoryShare)
		debug.SetMemoryLimit(limit)
		return limit
	}
	return 0
}
