package httpserve

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/rs/zerolog"
)

// passed is a handler that records that a guard let the request through.
type passed struct {
	n    int
	last *http.Request
}

func (p *passed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.n++
	p.last = r
	w.WriteHeader(http.StatusTeapot)
}

// guarded sends r through g alone and returns the answer and whether the
// guard passed it on.
func guarded(t *testing.T, g guard, r *http.Request) (*httptest.ResponseRecorder, *passed) {
	t.Helper()
	next := &passed{}
	w := httptest.NewRecorder()
	g(next).ServeHTTP(w, r)
	if next.n == 0 && w.Code == http.StatusTeapot {
		t.Fatal("a refusal used the next handler's status")
	}
	return w, next
}

// onLoopback marks r as come in on a loopback connection.
func onLoopback(r *http.Request) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), http.LocalAddrContextKey, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080}))
}

// handlerWith is HTTP mode on loopback, changed by each of opts, against
// no API: a guard passes requests on, or refuses them.
func handlerWith(t *testing.T, opts ...func(*Config)) *Server {
	t.Helper()
	cfg := testConfig(t, "http://127.0.0.1:1/v1", zerolog.Nop())
	for _, o := range opts {
		o(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
