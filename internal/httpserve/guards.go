package httpserve

import (
	"net/http"
)

// The guards of /mcp, each a middleware with one job in a file of its
// own, chained in New. A guard that refuses answers in this server's words
// and says what to change; one that passes calls next.

// guard wraps a handler with one check.
type guard func(next http.Handler) http.Handler

// chain puts guards in front of h, the first outermost.
func chain(h http.Handler, guards ...guard) http.Handler {
	for i := len(guards) - 1; i >= 0; i-- {
		h = guards[i](h)
	}
	return h
}
