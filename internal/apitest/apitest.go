// Package apitest holds what the tests and benchmarks of several packages
// share: stand-ins for Together (one that answers every request at once
// with the same created secret, so that a benchmark measures the server and
// not a store, and one with an account for each key), a client of this
// server over HTTP, and the check that no canary value or key leaks.
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
