package apitest

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// The fast loop, go test -short, runs what costs milliseconds; the full run
// runs everything. A test says what it costs with one of these, first,
// instead of checking testing.Short itself, so that what the fast loop
// leaves out is found by looking for them. What a test needs of the
// machine it says with NeedsTool, the one rule for when a missing tool
// skips and when it fails.

// NeedsProcess skips t under -short: it starts a process (the server's
// binary, a shell, a browser), which costs more than the rest of its
// package's tests together.
func NeedsProcess(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a process (the server's binary, a shell or a browser): run without -short")
	}
}

// NeedsHeavyLoad skips t under -short: it sends many calls or many
// megabytes, or runs a long property check.
func NeedsHeavyLoad(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs a heavy load: run without -short")
	}
}

// NeedsTool returns the path of the first of name and its other names
// found on PATH. Without any, t is skipped on a developer's machine, but
// fails in CI (the CI variable set): there a skip would pass what was never
// run. name is also the Debian package to install.
func NeedsTool(t testing.TB, name string, other ...string) string {
	t.Helper()
	for _, n := range append([]string{name}, other...) {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	what := strings.Join(append([]string{name}, other...), " or ")
	if os.Getenv("CI") != "" {
		t.Fatalf("no %s on PATH: CI must install it (apt-get install -y %s)", what, name)
	}
	t.Skipf("no %s on PATH on this machine (apt-get install -y %s); CI fails without it", what, name)
	return ""
}
