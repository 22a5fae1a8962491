// Package apitest holds what the tests and benchmarks of several packages
// share: the stand-in for Together that the tests talk to (the sandbox
// over real HTTP, with one account or one for each key, or a handler of the
// test's own, recording every request), and one for benchmarks that
// answers every request at once with the same created secret, so that they
// measure the server and not a store; a client of this server over HTTP;
// the checks that no canary value or key leaks and that no goroutine
// outlives the tests; waits for a condition; what tells the fast loop
// (go test -short) which tests to leave to the full run; and the one rule
// for a tool a test needs on PATH.
package apitest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"
)

// CreatedSecret is the stand-in's answer, a SecretResponseItem.
const CreatedSecret = `{"object":"secret","id":"sec-000000000000000000000001","name":"bench/S","created_at":"2026-11-26T00:00:00Z","updated_at":"2026-11-26T00:00:00Z","created_by":"bench","last_updated_by":"bench"}`

// NewCreateStandIn starts a server that reads each request's body whole,
// as Together would, and answers CreatedSecret. Close it when done.
func NewCreateStandIn() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, CreatedSecret)
	}))
}

// Clock is a clock a test moves, for the stand-ins and pages that take
// one. It is safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock standing at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
