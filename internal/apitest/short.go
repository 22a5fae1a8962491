package apitest

import "testing"

// The fast loop, go test -short, runs what costs milliseconds; the full run
// runs everything. A test says what it costs with one of these, first,
// instead of checking testing.Short itself, so that what the fast loop
// leaves out is found by looking for them.

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
