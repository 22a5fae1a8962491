package httpserve

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/together-secrets-mcp/together-secrets-mcp/internal/apitest"
)

// testPage is a page that records what reached it and, while hold is
// open, holds each request.
type testPage struct {
	mu     sync.Mutex
	bodies []string
	hold   chan struct{}
	inside chan struct{}
}

func (p *testPage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	p.mu.Lock()
	p.bodies = append(p.bodies, r.Method+" "+r.URL.Path+" "+string(b))
	hold := p.hold
	p.mu.Unlock()
	if hold != nil {
		p.inside <- struct{}{}
		<-hold
	}
	_, _ = io.WriteString(w, "page")
}

func (p *testPage) seen() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.bodies...)
}

// withPage serves p at /team/v/ for https://secrets.example.com.
func withPage(p *testPage) func(*Config) {
	return func(c *Config) { c.Page = &Page{Path: "/team/v/", Host: "secrets.example.com", Handler: p} }
}

// pageRequest sends method to path with host as the Host, and returns the
// status and body.
func pageRequest(t *testing.T, hh *httpHarness, method, path, host, body string) (int, string) {
	t.Helper()
	r := pageDo(hh, method, path, host, body)
	if r.err != nil {
		t.Fatal(r.err)
	}
	return r.status, r.body
}

// pageAnswer is what pageDo got.
type pageAnswer struct {
	status int
	body   string
	err    error
}

// pageDo is pageRequest for a goroutine: it fails no test, and returns what
// went wrong for the test to report.
func pageDo(hh *httpHarness, method, path, host, body string) pageAnswer {
	req, err := http.NewRequest(method, hh.srv.URL+path, strings.NewReader(body))
	if err != nil {
		return pageAnswer{err: err}
	}
	req.Host = host
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return pageAnswer{err: fmt.Errorf("%s %s: %w", method, path, err)}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return pageAnswer{resp.StatusCode, string(b), err}
}

func TestAPageIsServedBesideMCPAtItsOwnHostWithoutAnAllowedHostsEntry(t *testing.T) {
	t.Parallel()
	p := &testPage{}
	hh := newHTTPHarness(t, withPage(p))
	for _, tt := range []struct {
		method, path, host string
		status             int
	}{
		{"GET", "/team/v/TICKET", "secrets.example.com", 200},
		{"POST", "/team/v/TICKET", "Secrets.Example.com:443", 200},
		{"GET", "/team/v/TICKET", "127.0.0.1", 200},
		{"GET", "/team/v/TICKET", "evil.example", 403},
		{"GET", "/team/TICKET", "secrets.example.com", 404},
		{"GET", "/v/TICKET", "secrets.example.com", 404},
	} {
		body := ""
		if tt.method == "POST" {
			body = "value=x"
		}
		if code, body := pageRequest(t, hh, tt.method, tt.path, tt.host, body); code != tt.status {
			t.Errorf("%s %s for %s: %d %s, want %d", tt.method, tt.path, tt.host, code, body, tt.status)
		}
	}
	if got := fmt.Sprint(p.seen()); got != "[GET /team/v/TICKET  POST /team/v/TICKET value=x GET /team/v/TICKET ]" {
		t.Errorf("the page got %s", got)
	}
	// MCP answers at the page's host too, with no allowed-hosts entry.
	req := apitest.MCPRequest(t.Context(), hh.srv.URL+"/mcp", "k", apitest.ListCall)
	req.Host = "secrets.example.com"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("/mcp at the page's host: %d", resp.StatusCode)
	}
}

func TestAPagesLinksAreLoggedByItsPathAlone(t *testing.T) {
	t.Parallel()
	hh := newHTTPHarness(t, withPage(&testPage{}))
	const ticket = "SEALEDTICKET-0123456789"
	pageRequest(t, hh, "GET", "/team/v/"+ticket, "secrets.example.com", "")
	apitest.WaitUntil(t, "the request's log event", func() bool { return strings.Contains(hh.logs.String(), `"path":"/team/v/"`) })
	if strings.Contains(hh.logs.String(), ticket) {
		t.Errorf("the log holds a link's ticket:\n%s", hh.logs.String())
	}
}

func TestAPagesBodyIsReadUnderTheBudgetBeforeItTakesASlot(t *testing.T) {
	t.Parallel()
	p := &testPage{hold: make(chan struct{}), inside: make(chan struct{}, 8)}
	hh := newHTTPHarness(t, withPage(p), func(c *Config) { c.MaxInFlight, c.BodyBudget, c.BodyTimeout = 1, 64<<10, time.Second })
	release := sync.OnceFunc(func() { close(p.hold) })
	t.Cleanup(release) // before the server closes, should the test end early
	addr := strings.TrimPrefix(hh.srv.URL, "http://")

	// A body that stalls holds the budget for what it sent, and no slot.
	stalled, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Close()
	fmt.Fprintf(stalled, "POST /team/v/T HTTP/1.1\r\nHost: secrets.example.com\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 60000\r\n\r\n%s", strings.Repeat("v", 30000))
	apitest.WaitUntil(t, "the stalled body holds its bytes", func() bool { return hh.h.bodies.held() >= 30000 })
	if code, _ := pageRequest(t, hh, "POST", "/team/v/T", "secrets.example.com", strings.Repeat("w", 40000)); code != http.StatusServiceUnavailable {
		t.Errorf("a body beyond what the budget has left: %d, want 503", code)
	}

	// A request that is served holds the one slot; the next is refused.
	done := make(chan pageAnswer, 1)
	go func() { done <- pageDo(hh, "POST", "/team/v/T", "secrets.example.com", "value=x") }()
	select {
	case <-p.inside:
	case r := <-done:
		t.Fatalf("the request meant to hold the slot ended: %d %s %v", r.status, r.body, r.err)
	case <-time.After(10 * time.Second):
		t.Fatal("waited 10s for the request to reach the page")
	}
	if code, body := pageRequest(t, hh, "GET", "/team/v/T", "secrets.example.com", ""); code != http.StatusServiceUnavailable || !strings.Contains(body, "too many requests in flight") {
		t.Errorf("beyond the slots: %d %s", code, body)
	}
	release()
	if r := apitest.Receive(t, "the request in its slot", done); r.err != nil || r.status != 200 {
		t.Errorf("the request in its slot: %d %v", r.status, r.err)
	}
	if got := statusOf(t, stalled, 5*time.Second); got != http.StatusRequestTimeout {
		t.Errorf("the stalled body: %d, want 408", got)
	}
	for _, s := range p.seen() {
		if strings.Contains(s, "vvvv") || strings.Contains(s, "wwww") {
			t.Errorf("a body not read whole reached the page: %.40s", s)
		}
	}
}

func TestAPageIsServedOnlyAtAHostTheOperatorNamedWhereMCPTakesAny(t *testing.T) {
	t.Parallel()
	// Listening on every address with no allowed hosts, where /mcp answers
	// to any Host that does not come in on loopback.
	public := func(c *Config) { c.Addr = "0.0.0.0:8080" }
	for _, tt := range []struct {
		name, path, host string
		hosts            []string
		status           int
	}{
		{name: "the page at its public host", path: "/team/v/T", host: "secrets.example.com", status: 200},
		{name: "the page at its public host with a port", path: "/team/v/T", host: "secrets.example.com:8443", status: 200},
		{name: "the page at a loopback name", path: "/team/v/T", host: "localhost:8080", status: 200},
		{name: "the page at a name a proxy forwards, listed", path: "/team/v/T", host: "secrets.internal", hosts: []string{"secrets.internal"}, status: 200},
		{name: "the page at a name nobody named", path: "/team/v/T", host: "rebound.attacker.example", status: 403},
		{name: "the page at the pod's address", path: "/team/v/T", host: "10.0.0.5:8080", status: 403},
		{name: "MCP at a name nobody named", path: "/mcp", host: "rebound.attacker.example", status: 200},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := &testPage{}
			h := handlerWith(t, withPage(p), public, func(c *Config) { c.AllowedHosts = tt.hosts })
			r := httptest.NewRequest(http.MethodGet, tt.path, nil)
			if tt.path == "/mcp" {
				r = apitest.MCPRequest(t.Context(), "http://x/mcp", "k", apitest.ListCall)
			}
			r.Host = tt.host
			r = r.WithContext(context.WithValue(r.Context(), http.LocalAddrContextKey, &net.TCPAddr{IP: net.IPv4(10, 0, 0, 5), Port: 8080}))
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if tt.path == "/mcp" {
				if w.Code == http.StatusForbidden {
					t.Errorf("MCP: %d %s", w.Code, w.Body.String())
				}
				return
			}
			if w.Code != tt.status || tt.status == 403 && (len(p.seen()) != 0 || !strings.Contains(w.Body.String(), "--allowed-hosts (TOGETHER_SECRETS_ALLOWED_HOSTS)")) {
				t.Errorf("%d %s, want %d; the page saw %v", w.Code, w.Body.String(), tt.status, p.seen())
			}
		})
	}
}
