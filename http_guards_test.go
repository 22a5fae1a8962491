package main

import (
	"context"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/together-secrets-mcp/together-secrets-mcp/togetherapi"
	"github.com/together-secrets-mcp/together-secrets-mcp/tools"
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

func handlerWith(t *testing.T, args ...string) *httpHandler {
	t.Helper()
	cfg, err := parseConfig(append([]string{"--http", "127.0.0.1:0"}, args...), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	h, err := newHTTPHandler(cfg, testClient(t, "http://127.0.0.1:1/v1"), zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestHostGuardAnswersOnlyToNamesItWasTold(t *testing.T) {
	h := handlerWith(t, "--allowed-hosts", "mcp.example.com")
	for host, pass := range map[string]bool{
		"localhost:8080": true, "127.0.0.1:8080": true, "[::1]:8080": true, "mcp.example.com": true, "MCP.example.com:443": true,
		"attacker.example": false, "mcp.example.com.attacker.example": false, "": false,
	} {
		r := onLoopback(httptest.NewRequest("POST", "/mcp", nil))
		r.Host = host
		w, next := guarded(t, h.hostGuard, r)
		if (next.n == 1) != pass || (!pass && (w.Code != 403 || !strings.Contains(w.Body.String(), "--allowed-hosts (TOGETHER_SECRETS_ALLOWED_HOSTS)"))) {
			t.Errorf("Host %q: %d %s", host, w.Code, w.Body.String())
		}
	}
}

func TestOriginGuardLetsThroughOnlyKnownOrigins(t *testing.T) {
	h := handlerWith(t, "--allowed-origins", "https://agents.example.com")
	tests := []struct {
		origin, method string
		status         int // 0 when passed on
		cors           bool
	}{
		{"", "POST", 0, false},
		{"https://agents.example.com", "POST", 0, true},
		{"https://agents.example.com", "OPTIONS", 204, true},
		{"http://localhost:3000", "POST", 0, false},
		{"https://evil.example", "POST", 403, false},
		{"null", "POST", 403, false},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(tt.method, "/mcp", nil)
		if tt.origin != "" {
			r.Header.Set("Origin", tt.origin)
		}
		w, next := guarded(t, h.originGuard, r)
		got := w.Code
		if next.n == 1 {
			got = 0
		}
		if got != tt.status || (w.Header().Get("Access-Control-Allow-Origin") != "") != tt.cors {
			t.Errorf("%s %q: status %d (want %d), CORS %q", tt.method, tt.origin, got, tt.status, w.Header().Get("Access-Control-Allow-Origin"))
		}
	}
}

func TestMethodGuardRefusesQueriesAndStandingStreams(t *testing.T) {
	for _, tt := range []struct {
		method, target string
		status         int
	}{{"POST", "/mcp", 0}, {"DELETE", "/mcp", 0}, {"POST", "/mcp?api_key=x", 400}, {"GET", "/mcp", 405}} {
		w, next := guarded(t, methodGuard, httptest.NewRequest(tt.method, tt.target, nil))
		got := w.Code
		if next.n == 1 {
			got = 0
		}
		if got != tt.status {
			t.Errorf("%s %s: %d, want %d", tt.method, tt.target, got, tt.status)
		}
	}
}

func TestBearerGuardTakesTheKeyInAnyCaseOfTheScheme(t *testing.T) {
	for header, pass := range map[string]bool{
		"Bearer k1": true, "bearer k1": true, "BEARER   k1 ": true,
		"": false, "Bearer": false, "Bearer ": false, "Basic azE6": false, "k1": false,
	} {
		r := httptest.NewRequest("POST", "/mcp", nil)
		r.Header.Set("Authorization", header)
		info := &requestInfo{}
		r = r.WithContext(context.WithValue(r.Context(), requestInfoKey{}, info))
		w, next := guarded(t, bearerGuard, r)
		if !pass {
			if next.n != 0 || w.Code != 401 || w.Header().Get("WWW-Authenticate") == "" || !strings.Contains(w.Body.String(), "Authorization: Bearer <key>") {
				t.Errorf("%q: %d %s", header, w.Code, w.Body.String())
			}
			continue
		}
		key, _ := next.last.Context().Value(callerKey{}).(togetherapi.Sensitive)
		if next.n != 1 || key != togetherapi.NewSensitive("k1") || !strings.HasPrefix(info.caller, "sha256:") {
			t.Errorf("%q: passed %d, caller %q", header, next.n, info.caller)
		}
	}
}

func TestBodyGuardReadsTheBodyWholeAndBoundsIt(t *testing.T) {
	h := handlerWith(t)
	r := httptest.NewRequest("POST", "/mcp", io.MultiReader(strings.NewReader("{"), strings.NewReader(`"a":1}`)))
	r.ContentLength = -1
	_, next := guarded(t, h.bodyGuard, r)
	if next.n != 1 || next.last.ContentLength != 7 {
		t.Fatalf("a chunked body: passed %d", next.n)
	}
	if b, _ := io.ReadAll(next.last.Body); string(b) != `{"a":1}` {
		t.Errorf("the body passed on is %q", b)
	}
	for _, size := range []int64{maxRequestBody + 1, -1} {
		r := httptest.NewRequest("POST", "/mcp", strings.NewReader(strings.Repeat(" ", maxRequestBody+1)))
		r.ContentLength = size
		if w, next := guarded(t, h.bodyGuard, r); next.n != 0 || w.Code != 413 {
			t.Errorf("a body over the cap (length %d): %d", size, w.Code)
		}
	}
	short := httptest.NewRequest("POST", "/mcp", strings.NewReader(`{"a":1}`))
	short.ContentLength = 100
	if w, next := guarded(t, h.bodyGuard, short); next.n != 0 || w.Code != 408 {
		t.Errorf("a body short of its Content-Length: %d, passed on %d", w.Code, next.n)
	}
	h.drain()
	if w, next := guarded(t, h.bodyGuard, httptest.NewRequest("POST", "/mcp", strings.NewReader("{}"))); next.n != 0 || w.Code != 503 {
		t.Errorf("while draining: %d", w.Code)
	}
}

func TestInFlightGuardAnswersBeyondItsSlotsAtOnce(t *testing.T) {
	h := handlerWith(t, "--max-in-flight", "1")
	h.inFlight <- struct{}{} // one request is in flight
	start := time.Now()
	w, next := guarded(t, h.inFlightGuard, httptest.NewRequest("POST", "/mcp", nil))
	if next.n != 0 || w.Code != 503 || w.Header().Get("Retry-After") != "1" || time.Since(start) > time.Second {
		t.Errorf("beyond the cap: %d", w.Code)
	}
	<-h.inFlight
	if _, next := guarded(t, h.inFlightGuard, httptest.NewRequest("POST", "/mcp", nil)); next.n != 1 || len(h.inFlight) != 0 {
		t.Error("within the cap the request was not served, or its slot not given back")
	}
}

func TestDepsGuardGivesTheCallsAClientWithTheCallersKey(t *testing.T) {
	h := handlerWith(t)
	r := httptest.NewRequest("POST", "/mcp", nil)
	key := togetherapi.NewSensitive("CANARYKEY-deps")
	r = r.WithContext(context.WithValue(context.WithValue(r.Context(), callerKey{}, key), requestInfoKey{}, &requestInfo{caller: "sha256:abc"}))
	_, next := guarded(t, h.depsGuard, r)
	got := tools.DepsFrom(next.last.Context())
	if got.Client == nil || got.Client.KeyScrubber().Scrub("CANARYKEY-deps") != togetherapi.Redacted || got.Caller != "sha256:abc" {
		t.Errorf("deps = %+v", got)
	}
}

func TestBodyGuardTakesItsBytesFromTheBudgetUntilTheRequestIsDone(t *testing.T) {
	for _, tt := range []struct {
		name     string
		size     int
		declared bool
		status   int // 0 when passed on
	}{
		{name: "a chunked body within the budget", size: 10 << 10},
		{name: "a declared body within the budget", size: 10 << 10, declared: true},
		{name: "a chunked body beyond the budget", size: 20 << 10, status: http.StatusServiceUnavailable},
		{name: "a declared body beyond the budget", size: 20 << 10, declared: true, status: http.StatusServiceUnavailable},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := handlerWith(t)
			h.bodies = newByteBudget(16 << 10)
			var during int64 = -1
			next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				during = h.bodies.held()
				w.WriteHeader(http.StatusTeapot)
			})
			r := httptest.NewRequest("POST", "/mcp", io.MultiReader(strings.NewReader(strings.Repeat(" ", tt.size))))
			r.ContentLength = -1
			if tt.declared {
				r.ContentLength = int64(tt.size)
			}
			w := httptest.NewRecorder()
			h.bodyGuard(next).ServeHTTP(w, r)
			switch {
			case tt.status == 0 && (w.Code != http.StatusTeapot || during < int64(tt.size)):
				t.Errorf("passed on with %d, holding %d bytes of the budget while served", w.Code, during)
			case tt.status != 0 && (w.Code != tt.status || w.Header().Get("Retry-After") != "1" || during != -1):
				t.Errorf("refused with %d, Retry-After %q, passed on %v", w.Code, w.Header().Get("Retry-After"), during != -1)
			}
			if held := h.bodies.held(); held != 0 {
				t.Errorf("%d bytes of the budget still held once the request is done", held)
			}
		})
	}
}

func TestTheBodyBudgetIsAQuarterOfTheMemoryLimit(t *testing.T) {
	for _, tt := range []struct {
		name  string
		limit int64
		want  int64
	}{
		{"the shipped manifests' 256 MiB, less a tenth", 241591910, 60397977},
		{"no limit", math.MaxInt64, 256 << 20},
		{"a limit too small for one whole body", 2 << 20, maxRequestBody},
	} {
		if got := bodyBudget(tt.limit); got != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, got, tt.want)
		}
	}
}
