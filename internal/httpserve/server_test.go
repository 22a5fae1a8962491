package httpserve

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/rs/zerolog"

	"github.com/together-secrets-mcp/together-secrets-mcp/internal/apitest"
	"github.com/together-secrets-mcp/together-secrets-mcp/internal/netguard"
	"github.com/together-secrets-mcp/together-secrets-mcp/internal/syncio"
	"github.com/together-secrets-mcp/together-secrets-mcp/togetherapi"
	"github.com/together-secrets-mcp/together-secrets-mcp/tools"
)

// canaryValue is the value the tests store: a leak of it is found by
// apitest.AssertClean.
const canaryValue = "CANARYVALUE-http-5a4b3c2d1e-\"<&>\""

// canaryKey is the key a test sends where it checks that no key shows.
const canaryKey = "CANARYKEY-http-9e8d7c6b5a"

// httpHarness is HTTP mode served in-process against a keyed stand-in.
type httpHarness struct {
	api  *apitest.API
	h    *Server
	srv  *httptest.Server
	logs *syncio.Buffer
}

// newHTTPHarness serves HTTP mode on loopback with delete_secret offered,
// changed by each of opts.
func newHTTPHarness(t *testing.T, opts ...func(*Config)) *httpHarness {
	t.Helper()
	hh := &httpHarness{api: apitest.NewKeyed(t), logs: &syncio.Buffer{}}
	cfg := testConfig(t, hh.api.URL+"/v1", zerolog.New(hh.logs))
	cfg.Tools.Tools.AllowDelete = true
	for _, o := range opts {
		o(&cfg)
	}
	var err error
	if hh.h, err = New(cfg); err != nil {
		t.Fatal(err)
	}
	hh.srv = httptest.NewServer(hh.h)
	t.Cleanup(hh.srv.Close)
	return hh
}

// testConfig is HTTP mode on loopback with the binary's defaults, against
// the API at baseURL, naming its settings as the binary does.
func testConfig(t testing.TB, baseURL string, logger zerolog.Logger) Config {
	t.Helper()
	return Config{
		Addr:           "127.0.0.1:0",
		MaxInFlight:    256,
		MaxConnections: 1024,
		BodyBudget:     256 * MaxRequestBody,
		CallTimeout:    5 * time.Second,
		Tools:          tools.Config{Version: "test", Logger: logger},
		Base:           testClient(t, baseURL),
		Logger:         logger,
		Words: Words{
			AllowedHosts:   "--allowed-hosts (TOGETHER_SECRETS_ALLOWED_HOSTS)",
			AllowedOrigins: "--allowed-origins (TOGETHER_SECRETS_ALLOWED_ORIGINS)",
		},
	}
}

// mcpClient connects to the harness with key, speaking the given protocol
// version ("" for the client's newest).
func (hh *httpHarness) mcpClient(t *testing.T, key, version string) *client.Client {
	t.Helper()
	return apitest.MCPClient(t, hh.srv.URL+"/mcp", key, version)
}

func callTool(t *testing.T, c *client.Client, name string, args map[string]any) *mcp.CallToolResult {
	t.Helper()
	res, err := c.CallTool(t.Context(), mcp.CallToolRequest{Params: mcp.CallToolParams{Name: name, Arguments: args}})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return res
}

func toolJSON(t *testing.T, r *mcp.CallToolResult) string {
	t.Helper()
	b, _ := json.Marshal(r)
	return string(b)
}

func TestHTTPServesEachProtocolEraWithTheCallersKey(t *testing.T) {
	t.Parallel()
	for _, version := range []string{"", mcp.ProtocolVersion20251125, "2025-06-18"} {
		t.Run("protocol "+version, func(t *testing.T) {
			hh := newHTTPHarness(t)
			key := "CANARYKEY-http-" + strings.ReplaceAll(version, "-", "")
			c := hh.mcpClient(t, key, version)
			res := callTool(t, c, "create_secret", map[string]any{"name": "HTTP_ONE", "value": canaryValue})
			if res.IsError {
				t.Fatal(toolJSON(t, res))
			}
			for _, tool := range []string{"get_secret", "update_secret", "delete_secret"} {
				args := map[string]any{"id": "HTTP_ONE"}
				if tool == "update_secret" {
					args["description"] = "rotated"
				}
				if r := callTool(t, c, tool, args); r.IsError {
					t.Fatalf("%s: %s", tool, toolJSON(t, r))
				}
			}
			for _, seen := range hh.api.Requests() {
				if !strings.HasPrefix(seen, key+" ") {
					t.Errorf("a request reached the API with another key: %q", seen)
				}
			}
			apitest.AssertClean(t, map[string]string{"result": toolJSON(t, res), "logs": hh.logs.String()})
			if !strings.Contains(hh.logs.String(), `"caller":"`+netguard.Fingerprint(key)+`"`) {
				t.Errorf("the log does not tell the caller by fingerprint:\n%s", hh.logs.String())
			}
		})
	}
}

func TestHTTPTwoCallersNeverSeeEachOthersKeyOrSecrets(t *testing.T) {
	t.Parallel()
	hh := newHTTPHarness(t)
	keys := []string{"CANARYKEY-alice-0001", "CANARYKEY-bob-0002"}
	// Each caller's goroutine sends what it saw, or what went wrong, for
	// the test to report: t.Fatal would end only that goroutine.
	type seen struct {
		results string
		err     error
	}
	done := make(chan seen, len(keys))
	for i, key := range keys {
		c := hh.mcpClient(t, key, "")
		go func() {
			var out strings.Builder
			for n := range 20 {
				name := fmt.Sprintf("C%d_%02d", i, n)
				for _, call := range []mcp.CallToolParams{
					{Name: "create_secret", Arguments: map[string]any{"name": name, "value": canaryValue + key}},
					{Name: "list_secrets"},
				} {
					r, err := c.CallTool(t.Context(), mcp.CallToolRequest{Params: call})
					if err != nil {
						done <- seen{out.String(), fmt.Errorf("caller %d's %s: %w", i, call.Name, err)}
						return
					}
					b, _ := json.Marshal(r)
					out.Write(b)
					if call.Name == "list_secrets" && strings.Contains(string(b), fmt.Sprintf("C%d_", 1-i)) {
						done <- seen{out.String(), fmt.Errorf("caller %d sees the other's secrets: %s", i, b)}
						return
					}
				}
			}
			done <- seen{results: out.String()}
		}()
	}
	outputs := map[string]string{}
	for range keys {
		got := apitest.Receive(t, "a caller's calls", done)
		if got.err != nil {
			t.Error(got.err)
		}
		outputs[fmt.Sprintf("results %d", len(outputs))] = got.results
	}
	for _, seen := range hh.api.Requests() {
		key, _, _ := strings.Cut(seen, " ")
		if key != keys[0] && key != keys[1] {
			t.Errorf("request with an unknown key: %q", seen)
		}
	}
	outputs["logs"] = hh.logs.String()
	apitest.AssertClean(t, outputs)
}

func TestHTTPGuards(t *testing.T) {
	t.Parallel()
	hh := newHTTPHarness(t, func(c *Config) { c.AllowedOrigins = []string{"https://agents.example.com"} })
	initBody := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"g","version":"1"}}}`
	tests := []struct {
		name    string
		method  string
		path    string
		headers map[string]string
		host    string
		body    io.Reader
		status  int
		check   func(t *testing.T, r *http.Response)
	}{
		{name: "no key", status: 401, check: func(t *testing.T, r *http.Response) {
			if r.Header.Get("WWW-Authenticate") != `Bearer realm="together-secrets-mcp"` {
				t.Errorf("WWW-Authenticate = %q", r.Header.Get("WWW-Authenticate"))
			}
		}},
		{name: "empty bearer", headers: map[string]string{"Authorization": "Bearer "}, status: 401},
		{name: "basic auth", headers: map[string]string{"Authorization": "Basic a2V5Og=="}, status: 401},
		{name: "key in the query string", path: "/mcp?api_key=CANARYKEY-q", headers: map[string]string{"Authorization": "Bearer " + canaryKey}, status: 400},
		{name: "key", headers: map[string]string{"Authorization": "Bearer " + canaryKey}, status: 200, check: func(t *testing.T, r *http.Response) {
			if r.Header.Get("Access-Control-Allow-Origin") != "" {
				t.Error("CORS headers without an Origin")
			}
		}},
		{name: "foreign origin", headers: map[string]string{"Authorization": "Bearer " + canaryKey, "Origin": "https://evil.example"}, status: 403},
		{name: "null origin", headers: map[string]string{"Authorization": "Bearer " + canaryKey, "Origin": "null"}, status: 403},
		{name: "rebinding origin", headers: map[string]string{"Authorization": "Bearer " + canaryKey, "Origin": "http://127.0.0.1.evil.example"}, status: 403},
		{name: "loopback origin on a loopback server", headers: map[string]string{"Authorization": "Bearer " + canaryKey, "Origin": "http://localhost:3000"}, status: 200, check: func(t *testing.T, r *http.Response) {
			if r.Header.Get("Access-Control-Allow-Origin") != "" {
				t.Error("CORS headers for an origin that was not configured")
			}
		}},
		{name: "allowed origin", headers: map[string]string{"Authorization": "Bearer " + canaryKey, "Origin": "https://agents.example.com"}, status: 200, check: func(t *testing.T, r *http.Response) {
			if r.Header.Get("Access-Control-Allow-Origin") != "https://agents.example.com" {
				t.Errorf("Access-Control-Allow-Origin = %q", r.Header.Get("Access-Control-Allow-Origin"))
			}
		}},
		{name: "preflight", method: "OPTIONS", headers: map[string]string{"Origin": "https://agents.example.com", "Access-Control-Request-Method": "POST"}, status: 204, check: func(t *testing.T, r *http.Response) {
			if !strings.Contains(r.Header.Get("Access-Control-Allow-Headers"), "Authorization") {
				t.Errorf("Allow-Headers = %q", r.Header.Get("Access-Control-Allow-Headers"))
			}
		}},
		{name: "rebinding host", host: "attacker.example:80", headers: map[string]string{"Authorization": "Bearer " + canaryKey}, status: 403},
		{name: "10 MB body", headers: map[string]string{"Authorization": "Bearer " + canaryKey}, body: strings.NewReader(strings.Repeat(" ", 10<<20) + initBody), status: 413},
		{name: "10 MB chunked body", headers: map[string]string{"Authorization": "Bearer " + canaryKey}, body: io.MultiReader(strings.NewReader(strings.Repeat(" ", 10<<20)), strings.NewReader(initBody)), status: 413},
		{name: "no standing event stream", method: "GET", headers: map[string]string{"Authorization": "Bearer " + canaryKey, "Accept": "text/event-stream"}, status: 405, check: func(t *testing.T, r *http.Response) {
			if r.Header.Get("Allow") != "POST, DELETE" {
				t.Errorf("Allow = %q", r.Header.Get("Allow"))
			}
		}},
		{name: "liveness needs no key", method: "GET", path: "/healthz", status: 200},
		{name: "readiness needs no key", method: "GET", path: "/readyz", status: 200},
		{name: "other paths", method: "GET", path: "/admin", status: 404},
		{name: "a path not in its clean form", path: "//mcp", headers: map[string]string{"Authorization": "Bearer " + canaryKey}, status: 404},
		{name: "a path with a dot segment", path: "/x/../mcp", headers: map[string]string{"Authorization": "Bearer " + canaryKey}, status: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method, path, body := tt.method, tt.path, tt.body
			if method == "" {
				method = "POST"
			}
			if path == "" {
				path = "/mcp"
			}
			if body == nil && method == "POST" {
				body = strings.NewReader(initBody)
			}
			req, _ := http.NewRequest(method, hh.srv.URL+path, body)
			if _, chunked := tt.body.(*strings.Reader); tt.body != nil && !chunked {
				req.ContentLength = -1
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json, text/event-stream")
			for k, v := range tt.headers {
				req.Header.Set(k, v)
			}
			if tt.host != "" {
				req.Host = tt.host
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, b)
			}
			if tt.check != nil {
				tt.check(t, resp)
			}
		})
	}
	if reqs := hh.api.Requests(); len(reqs) != 0 {
		t.Errorf("guarded requests reached the API: %v", reqs)
	}
	apitest.AssertClean(t, map[string]string{"logs": hh.logs.String()})
}

func TestHTTPDropsSlowHeaders(t *testing.T) {
	t.Parallel()
	hh := newHTTPHarness(t, func(c *Config) { c.ReadHeaderTimeout = 200 * time.Millisecond })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, capped := hh.h.server(ln)
	go func() { _ = srv.Serve(capped) }()
	t.Cleanup(func() { _ = srv.Close() })
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	_, _ = io.WriteString(conn, "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n")
	// Trickle the rest, a byte at a time, never finishing the headers: the
	// pause between bytes is the slow client under test.
	go func() {
		for range 50 {
			if _, err := conn.Write([]byte("X")); err != nil {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = bufio.NewReader(conn).ReadString('\n')
	if err == nil && time.Since(start) > 2*time.Second {
		t.Fatal("the server waited for slow headers")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("slow headers held the connection for %s", d)
	}
}

func TestHTTPAThousandConcurrentRequestsCostBoundedMemory(t *testing.T) {
	apitest.NeedsHeavyLoad(t)
	hh := newHTTPHarness(t)
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var peak atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var m runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
				runtime.ReadMemStats(&m)
				if m.HeapInuse > peak.Load() {
					peak.Store(m.HeapInuse)
				}
			}
		}
	}()
	call := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"create_secret","arguments":{"name":"N","value":"` + strings.Repeat("v", 4<<10) + `"}}}`
	var ok, busy atomic.Int32
	var wg sync.WaitGroup
	for range 1000 {
		wg.Go(func() {
			resp, err := http.DefaultClient.Do(apitest.MCPRequest(context.Background(), hh.srv.URL+"/mcp", "k", call))
			if err != nil {
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			switch resp.StatusCode {
			case 200:
				ok.Add(1)
			case 503:
				busy.Add(1)
			default:
				t.Errorf("status %d", resp.StatusCode)
			}
		})
	}
	wg.Wait()
	close(stop)
	<-sampled
	if ok.Load()+busy.Load() != 1000 || ok.Load() == 0 {
		t.Errorf("%d answered, %d busy, of 1000", ok.Load(), busy.Load())
	}
	// The cap of 256 in flight bounds what is held at once: the requests
	// beyond it are answered at once and hold nothing. (The figure includes
	// this test's own 1000 client connections.)
	if grew := int64(peak.Load()) - int64(before.HeapInuse); grew > 120<<20 {
		t.Errorf("the heap grew by %d MiB under 1000 concurrent requests", grew>>20)
	}
	t.Logf("1000 requests: %d served, %d busy; heap grew by at most %d MiB", ok.Load(), busy.Load(), (int64(peak.Load())-int64(before.HeapInuse))>>20)
}

func TestHTTPRequestContextCarriesTheDeadlineOfTheClient(t *testing.T) {
	t.Parallel()
	// A caller that gives up cancels the call to Together.
	hh := newHTTPHarness(t)
	gate := make(chan struct{})
	defer close(gate)
	hh.api.Hold(gate)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := http.DefaultClient.Do(apitest.MCPRequest(ctx, hh.srv.URL+"/mcp", "k", apitest.ListCall)); err == nil {
		t.Fatal("the request did not time out")
	}
	apitest.WaitWithin(t, 2*time.Second, "the call to Together to end with its caller's", func() bool { return hh.api.Inside() == 0 })
}

// statusOf reads the status code of the answer on conn, within d.
func statusOf(t *testing.T, conn net.Conn, d time.Duration) int {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(d))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer within %s: %v", d, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// testClient is HTTP mode's base client for baseURL: no key, no retries.
func testClient(t testing.TB, baseURL string) *togetherapi.Client {
	t.Helper()
	c, err := togetherapi.New(togetherapi.Config{BaseURL: baseURL, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestServeNamesAnAddressItCannotListenOnInASettingError(t *testing.T) {
	t.Parallel()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	s := handlerWith(t, func(c *Config) { c.Addr = taken.Addr().String() })
	err = s.Serve(t.Context())
	var se *SettingError
	if !errors.As(err, &se) || se.Setting != "Addr" || !strings.HasPrefix(se.Problem, "cannot listen on "+taken.Addr().String()+": ") || se.Unwrap() == nil {
		t.Errorf("Serve on a taken address: %#v", err)
	}
}

func TestHTTPLogsNoKeyAClientSendsInThePath(t *testing.T) {
	// Some hosted servers take the key in the URL; a client set up that
	// way here sends it in the path, which must not reach the log.
	hh := newHTTPHarness(t)
	const key = "CANARYKEY-in-the-path-0123456789"
	for _, p := range []string{"/" + key + "/mcp", "/mcp/" + key, "/" + key, "//" + key, "/healthz/" + key} {
		resp, err := hh.srv.Client().Get(hh.srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, resp.StatusCode)
		}
	}
	// The paths it serves are logged as they are.
	resp, err := hh.srv.Client().Get(hh.srv.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	logs := hh.logs.String()
	if strings.Contains(logs, "in-the-path") || !strings.Contains(logs, `"path":"/healthz"`) {
		t.Errorf("the log:\n%s", logs)
	}
	apitest.AssertClean(t, map[string]string{"logs": logs})
}
