package apitest

import (
	"testing"
	"time"
)

// Receive returns what ch sends, failing the test if nothing comes within
// 10s. A goroutine a test starts must not call t.Fatal, which ends only
// that goroutine and leaves the test waiting; it sends its result, or its
// error, and the test receives it here, never waiting forever.
func Receive[T any](t testing.TB, what string, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("waited 10s for %s", what)
		panic("unreachable")
	}
}
