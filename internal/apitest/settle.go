package apitest

import (
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// CheckGoroutinesOnceEnded is CheckGoroutines for a package whose code
// ends a server in the background, under a deadline of its own, after its
// Close has returned: before it looks, it waits up to 10s for every
// goroutine running one of the functions named in ending (as a stack
// shows them) to end. What is still running then is reported like any
// other goroutine left behind.
func CheckGoroutinesOnceEnded(m *testing.M, ending ...string) {
	goleak.VerifyTestMain(settled{m, ending})
}

// settled runs the tests, then waits for what is ending to end.
type settled struct {
	m      *testing.M
	ending []string
}

func (s settled) Run() int {
	code := s.m.Run()
	Within(10*time.Second, func() bool { return !anyRunning(s.ending) })
	return code
}

// anyRunning reports whether a goroutine is running one of funcs.
func anyRunning(funcs []string) bool {
	for _, g := range Goroutines() {
		for _, f := range funcs {
			if strings.Contains(g, f+"(") {
				return true
			}
		}
	}
	return false
}
