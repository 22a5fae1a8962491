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
