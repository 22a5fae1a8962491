package apitest

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/together-secrets-mcp/together-secrets-mcp/sandbox"
)

// API stands in for Together over real HTTP on loopback, as the client
// meets it. Behind it is the sandbox, which enforces the API's rules (one
// account, one for each of a few keys, or one for any key), or a handler of
// the test's own; a script of steps, or a standing answer, may take their
// place. It records every request it receives.
type API struct {
	*httptest.Server
	account  http.Handler
	accounts map[string]*sandbox.Server // by key, when the keys are known

	mu       sync.Mutex
	received []Request
	script   []Step
	answer   http.Handler
	gate     chan struct{}
	inside   atomic.Int32
	peak     atomic.Int32
}

// Request is what the stand-in received of one request.
type Request struct {
	// Key is the bearer token sent, "" without one.
	Key    string
	Method string
	// Path is the path as it was sent, escaped.
	Path   string
	Header http.Header
	Body   string
	// Err is why the body could not be read whole, nil when it was: Body
	// then holds only what arrived, and the request went no further, as
	// Together acts on no body it did not receive whole.
	Err error
}

// Step answers one request in the place of what stands behind the
// stand-in; account is that, so that a step may let the request take
// effect and then answer otherwise, as a gateway does when the answer is
// lost behind it.
type Step func(w http.ResponseWriter, r *http.Request, account http.Handler)

// NewSandbox starts a stand-in with one sandbox account, made with opts
// (its key among them), closed when the test ends.
func NewSandbox(t testing.TB, opts sandbox.Options) *API {
	t.Helper()
	s := sandbox.New(opts)
	a := start(t, s)
	a.accounts = map[string]*sandbox.Server{opts.APIKey: s}
	return a
}

// NewCallers starts a stand-in with an account for each of keys, stamping
// secrets with now (time.Now when nil); any other key is refused with 401,
// as Together refuses a key it does not know. It is closed when the test
// ends.
func NewCallers(t testing.TB, now func() time.Time, keys ...string) *API {
	t.Helper()
	accounts := map[string]*sandbox.Server{}
	for _, k := range keys {
		accounts[k] = sandbox.New(sandbox.Options{APIKey: k, Now: now})
	}
	a := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		account := accounts[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
		if account == nil {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":{"message":"Invalid API key provided","type":"authentication_error"}}`))
			return
		}
		account.ServeHTTP(w, r)
	}))
	a.accounts = accounts
	return a
}

// NewKeyed starts a stand-in where any key has an account of its own,
// closed when the test ends.
func NewKeyed(t testing.TB) *API {
	t.Helper()
	return start(t, sandbox.NewAccounts(sandbox.Options{}, 100))
}

// NewAnswering starts a stand-in that answers every request with h, for a
// test of what the client makes of an answer; closed when the test ends.
func NewAnswering(t testing.TB, h http.Handler) *API {
	t.Helper()
	return start(t, h)
}

func start(t testing.TB, account http.Handler) *API {
	a := &API{account: account}
	a.Server = httptest.NewServer(http.HandlerFunc(a.serve))
	t.Cleanup(a.Close)
	return a
}

func (a *API) serve(w http.ResponseWriter, r *http.Request) {
	n := a.inside.Add(1)
	defer a.inside.Add(-1)
	for p := a.peak.Load(); n > p && !a.peak.CompareAndSwap(p, n); p = a.peak.Load() {
	}
	// Read whole, as Together reads it, and kept for the test to look at.
	body, err := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	key, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	a.mu.Lock()
	a.received = append(a.received, Request{Key: key, Method: r.Method, Path: r.URL.EscapedPath(), Header: r.Header.Clone(), Body: string(body), Err: err})
	if err != nil {
		a.mu.Unlock()
		http.Error(w, "the body was cut short: "+err.Error(), http.StatusBadRequest)
		return
	}
	var step Step
	if len(a.script) > 0 {
		step, a.script = a.script[0], a.script[1:]
	}
	answer, gate := a.answer, a.gate
	a.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-r.Context().Done():
		}
	}
	switch {
	case step != nil:
		step(w, r, a.account)
	case answer != nil:
		answer.ServeHTTP(w, r)
	default:
		a.account.ServeHTTP(w, r)
	}
}

// Account is the sandbox account of key, for a test to ask what reached
// it; nil for a key the stand-in was not made with (NewSandbox, NewCallers).
func (a *API) Account(key string) *sandbox.Server { return a.accounts[key] }

// Script makes the next requests, one a step, be answered by steps, after
// any steps still waiting.
func (a *API) Script(steps ...Step) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.script = append(a.script, steps...)
}

// Answer makes h answer every request that no step answers, until
// Answer(nil).
func (a *API) Answer(h http.Handler) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.answer = h
}

// Hold makes every request from now on wait until gate is closed, or its
// caller gives up.
func (a *API) Hold(gate chan struct{}) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.gate = gate
}

// Received is every request received so far, in order.
func (a *API) Received() []Request {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]Request(nil), a.received...)
}

// Requests are the requests received so far, each as "key METHOD path",
// followed by " (cut short)" for one whose body did not arrive whole.
func (a *API) Requests() []string {
	var out []string
	for _, r := range a.Received() {
		out = append(out, r.line())
	}
	return out
}

// Changes are the requests received so far that change something, every
// one but a GET, each as Requests spells it.
func (a *API) Changes() []string {
	var out []string
	for _, r := range a.Received() {
		if r.Method != http.MethodGet {
			out = append(out, r.line())
		}
	}
	return out
}

func (r Request) line() string {
	l := r.Key + " " + r.Method + " " + r.Path
	if r.Err != nil {
		l += " (cut short)"
	}
	return l
}

// Count is how many requests were received so far.
func (a *API) Count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.received)
}

// Inside is how many requests are being answered now.
func (a *API) Inside() int { return int(a.inside.Load()) }

// Peak is the most requests that were answered at once.
func (a *API) Peak() int { return int(a.peak.Load()) }
