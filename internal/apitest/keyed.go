package apitest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/together-secrets-mcp/together-secrets-mcp/sandbox"
)

// Keyed stands in for Together: any key has an account of its own, and
// every request's key and path are recorded.
type Keyed struct {
	srv      *httptest.Server
	accounts *sandbox.Accounts
	mu       sync.Mutex
	seen     []string // "key METHOD path"
	gate     chan struct{}
	inside   atomic.Int32
	peak     atomic.Int32
}

// NewKeyed starts a Keyed stand-in, closed when the test ends.
func NewKeyed(t testing.TB) *Keyed {
	t.Helper()
	a := &Keyed{accounts: sandbox.NewAccounts(sandbox.Options{}, 100)}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := a.inside.Add(1)
		defer a.inside.Add(-1)
		for p := a.peak.Load(); n > p && !a.peak.CompareAndSwap(p, n); p = a.peak.Load() {
		}
		a.mu.Lock()
		a.seen = append(a.seen, strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")+" "+r.Method+" "+r.URL.Path)
		gate := a.gate
		a.mu.Unlock()
		if gate != nil {
			select {
			case <-gate:
			case <-r.Context().Done():
			}
		}
		a.accounts.ServeHTTP(w, r)
	}))
	t.Cleanup(a.srv.Close)
	return a
}

// URL is the stand-in's root; the API is under URL()+"/v1".
func (a *Keyed) URL() string { return a.srv.URL }

// Hold makes every request from now on wait until gate is closed, or its
// caller gives up.
func (a *Keyed) Hold(gate chan struct{}) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.gate = gate
}

// Requests are the requests seen so far, each as "key METHOD path".
func (a *Keyed) Requests() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.seen...)
}

// Inside is how many requests are being answered now.
func (a *Keyed) Inside() int { return int(a.inside.Load()) }

// Peak is the most requests that were answered at once.
func (a *Keyed) Peak() int { return int(a.peak.Load()) }
