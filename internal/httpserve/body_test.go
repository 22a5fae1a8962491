package httpserve

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/together-secrets-mcp/together-secrets-mcp/internal/apitest"
)

func TestBodyGuardReadsTheBodyWholeAndBoundsIt(t *testing.T) {
	t.Parallel()
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
	for _, size := range []int64{MaxRequestBody + 1, -1} {
		r := httptest.NewRequest("POST", "/mcp", strings.NewReader(strings.Repeat(" ", MaxRequestBody+1)))
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

func TestBodyGuardTakesItsBytesFromTheBudgetUntilTheRequestIsDone(t *testing.T) {
	t.Parallel()
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
			h := handlerWith(t, func(c *Config) { c.BodyBudget = 16 << 10 })
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

func TestHTTPStalledBodiesTakeNoInFlightSlot(t *testing.T) {
	t.Parallel()
	hh := newHTTPHarness(t, func(c *Config) { c.MaxInFlight, c.BodyTimeout = 2, 700*time.Millisecond })
	addr := strings.TrimPrefix(hh.srv.URL, "http://")
	var stalled []net.Conn
	for range 6 {
		stalled = append(stalled, partialPost(t, addr, 1000, 11))
	}
	// Their headers are read, and each holds the budget for the body it
	// declared, which never comes.
	apitest.WaitUntil(t, "the stalled bodies are being read", func() bool { return hh.h.bodies.held() >= 6*1000 })
	for i := range 3 {
		resp, err := http.DefaultClient.Do(apitest.MCPRequest(t.Context(), hh.srv.URL+"/mcp", "k", apitest.ListCall))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("call %d beside 6 stalled bodies and a cap of 2 in flight: status %d", i, resp.StatusCode)
		}
	}
	for _, c := range stalled {
		if got := statusOf(t, c, 3*time.Second); got != http.StatusRequestTimeout {
			t.Errorf("a stalled body was answered %d, want 408 once its deadline passed", got)
		}
	}
}

func TestHTTPDrainEndsStalledBodiesAtOnce(t *testing.T) {
	t.Parallel()
	hh := newHTTPHarness(t)
	addr := strings.TrimPrefix(hh.srv.URL, "http://")
	c := partialPost(t, addr, 1000, 11)
	apitest.WaitUntil(t, "the stalled body is being read", func() bool { return hh.h.bodies.held() >= 1000 })
	start := time.Now()
	hh.h.drain()
	if got := statusOf(t, c, 2*time.Second); got != http.StatusServiceUnavailable {
		t.Errorf("status %d, want 503", got)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("the drain waited %s on a stalled body; its deadline is %s", d, hh.h.cfg.BodyTimeout)
	}
}

// partialPost opens a connection to addr and sends a POST to /mcp with a
// bearer key, declaring a body of declared bytes and sending sent of them.
func partialPost(t *testing.T, addr string, declared, sent int) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "POST /mcp HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer stalled\r\nContent-Type: application/json\r\n"+
		"Accept: application/json, text/event-stream\r\nContent-Length: %d\r\n\r\n", addr, declared)
	// In the background: the server may stop reading before the end.
	go func() { _, _ = conn.Write([]byte(strings.Repeat(" ", sent))) }()
	return conn
}

func TestHTTPBodiesShareOneBudgetAndOneThatFindsItSpentIsRefusedAtOnce(t *testing.T) {
	t.Parallel()
	hh := newHTTPHarness(t, func(c *Config) { c.BodyTimeout, c.BodyBudget = 2*time.Second, 256<<10 })
	addr := strings.TrimPrefix(hh.srv.URL, "http://")

	// A stalls after 150 KiB of 200; what it holds counts against all.
	stalled := partialPost(t, addr, 200<<10, 150<<10)
	apitest.WaitUntil(t, "the stalled body holds its 150 KiB", func() bool { return hh.h.bodies.held() >= 150<<10 })

	// Another as large finds the rest too small: refused while the first
	// still stalls, not queued behind it.
	refused := partialPost(t, addr, 200<<10, 150<<10)
	_ = refused.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(refused), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "1" || !strings.Contains(string(b), "retry in a second") {
		t.Errorf("a body beyond the budget: %d, Retry-After %q: %s", resp.StatusCode, resp.Header.Get("Retry-After"), b)
	}
	if held := hh.h.bodies.held(); held < 150<<10 {
		t.Fatalf("the refusal came only after the stalled body let go (%d bytes held)", held)
	}

	// A small call still fits beside the stalled body.
	small, err := http.DefaultClient.Do(apitest.MCPRequest(t.Context(), hh.srv.URL+"/mcp", "k", apitest.ListCall))
	if err != nil {
		t.Fatal(err)
	}
	small.Body.Close()
	if small.StatusCode != http.StatusOK {
		t.Errorf("a small call beside the stalled body: %d", small.StatusCode)
	}

	// The stalled body's deadline gives its bytes back.
	if got := statusOf(t, stalled, 5*time.Second); got != http.StatusRequestTimeout {
		t.Errorf("the stalled body was answered %d, want 408", got)
	}
	apitest.WaitUntil(t, "the budget is whole again", func() bool { return hh.h.bodies.held() == 0 })
}
