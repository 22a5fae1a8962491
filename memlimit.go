package main

import (
	"bytes"
	"math"
	"runtime/debug"
	"strconv"

	"github.com/together-secrets-mcp/together-secrets-mcp/internal/httpserve"
)

// cgroupMemoryFiles hold the container's memory limit: cgroup v2, then v1.
var cgroupMemoryFiles = []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}

// memoryShare is the part of the container's limit the Go heap may use
// before the collector works harder; the rest is stacks, the binary and
// the runtime's own.
const memoryShare = 0.9

// bodyShare is the part of the memory limit that the request bodies held
// at once may take together (HTTP mode): each is copied again by mcp-go
// and decoded into arguments while it is served, and the connections and
// the runtime need the rest.
const bodyShare = 0.25

// defaultBodyBudget is what the request bodies held at once may take with
// no memory limit to follow: what --max-in-flight's default lets requests
// hold.
const defaultBodyBudget = defaultMaxInFlight * httpserve.MaxRequestBody

// bodyBudget is what the request bodies held at once may take together
// under a Go memory limit of limit (math.MaxInt64 for none): never less
// than one body of the largest size, so that any request can be served.
func bodyBudget(limit int64) int64 {
	if limit <= 0 || limit == math.MaxInt64 {
		return defaultBodyBudget
	}
	return max(int64(float64(limit)*bodyShare), httpserve.MaxRequestBody)
}

// memoryLimit is the Go memory limit in force: set from the cgroup, from
// GOMEMLIMIT, or math.MaxInt64 for none.
func memoryLimit() int64 { return debug.SetMemoryLimit(-1) }

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
