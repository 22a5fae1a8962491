package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/together-secrets-mcp/together-secrets-mcp/internal/apitest"
)

// startHTTP runs the binary in HTTP mode on a free loopback port and
// returns it with its base URL.
func startHTTP(t *testing.T, env []string, args ...string) (*proc, string) {
	t.Helper()
	p := start(t, env, append([]string{"--http", "127.0.0.1:0"}, args...)...)
	var addr string
	listening := func() bool {
		for _, line := range strings.Split(p.stderr.String(), "\n") {
			var ev struct{ Addr string }
			if json.Unmarshal([]byte(line), &ev) == nil && ev.Addr != "" {
				addr = ev.Addr
				return true
			}
		}
		return false
	}
	if !apitest.Within(10*time.Second, listening) {
		t.Fatalf("the HTTP server did not start:\n%s", p.stderr.String())
	}
	return p, "http://" + addr
}

// getStatus is the status of a GET of url, or the error that kept it from
// being answered.
func getStatus(url string) (int, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// refusesConnections reports whether nothing listens at base any more.
func refusesConnections(base string) bool {
	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err == nil {
		c.Close()
	}
	return err != nil
}

func TestHTTPTwoReplicasBehindARoundRobinProxyServeAWholeLifecycle(t *testing.T) {
	t.Parallel()
	api := apitest.NewKeyed(t)
	var replicas []*proc
	var targets []*url.URL
	for range 2 {
		// The operator's own key is set, and must never be used for a caller.
		p, base := startHTTP(t, []string{"TOGETHER_BASE_URL=" + api.URL + "/v1", "TOGETHER_API_KEY=CANARYKEY-operator-own"}, "--allow-delete")
		replicas = append(replicas, p)
		u, _ := url.Parse(base)
		targets = append(targets, u)
	}
	var next atomic.Int32
	hits := make([]atomic.Int32, 2)
	proxy := httptest.NewServer(&httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			i := int(next.Add(1)) % 2
			hits[i].Add(1)
			r.SetURL(targets[i])
			// The replicas listen on loopback: present a loopback Host.
			r.Out.Host = targets[i].Host
		},
	})
	t.Cleanup(proxy.Close)

	const key = "CANARYKEY-replicated-42"
	for _, version := range []string{"", mcp.ProtocolVersion20251125} {
		c := apitest.MCPClient(t, proxy.URL+"/mcp", key, version)
		ctx := t.Context()
		name := "REPLICATED_" + strings.ReplaceAll(version, "-", "")
		for _, step := range []struct {
			tool string
			args map[string]any
		}{
			{"create_secret", map[string]any{"name": name, "value": e2eValue}},
			{"list_secrets", map[string]any{"name_prefix": "REPLICATED"}},
			{"get_secret", map[string]any{"id": name}},
			{"update_secret", map[string]any{"id": name, "value": e2eValue + "-rotated"}},
			{"delete_secret", map[string]any{"id": name}},
		} {
			res, err := c.CallTool(ctx, mcp.CallToolRequest{Params: mcp.CallToolParams{Name: step.tool, Arguments: step.args}})
			if err != nil || res.IsError {
				b, _ := json.Marshal(res)
				t.Fatalf("%s (%q): %v %s", step.tool, version, err, b)
			}
		}
		c.Close()
	}
	if hits[0].Load() < 3 || hits[1].Load() < 3 {
		t.Errorf("the proxy sent %d and %d requests to the replicas; want both used", hits[0].Load(), hits[1].Load())
	}
	for _, seen := range api.Requests() {
		if !strings.HasPrefix(seen, key+" ") {
			t.Errorf("a request reached Together without the caller's key: %q", seen)
		}
	}
	for _, p := range replicas {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		if code := p.waitExit(t); code != 0 {
			t.Errorf("exit code %d", code)
		}
		assertClean(t, map[string]string{"stdout": p.allStdout(), "stderr": p.stderr.String()})
	}
}

func TestHTTPShutdownLetsCallsInFlightFinish(t *testing.T) {
	t.Parallel()
	api := apitest.NewKeyed(t)
	gate := make(chan struct{})
	api.Hold(gate)
	// The delay is the window in which /readyz must fail while the server
	// still serves; it only has to outlast a few polls on a busy machine.
	p, base := startHTTP(t, []string{"TOGETHER_BASE_URL=" + api.URL + "/v1"}, "--shutdown-delay", "3s")
	done := make(chan int, 1)
	go func() {
		resp, err := http.DefaultClient.Do(apitest.MCPRequest(context.Background(), base+"/mcp", "k", apitest.ListCall))
		if err != nil {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	apitest.WaitUntil(t, "the call to reach Together", func() bool { return api.Inside() == 1 })
	if status, err := getStatus(base + "/readyz"); status != http.StatusOK {
		t.Fatalf("/readyz before SIGTERM: %d %v", status, err)
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	// Within the delay: not ready, yet still serving. Every answer until
	// then must be 200 or 503, and a refused connection before a 503 means
	// the server stopped without telling the load balancer first.
	apitest.WaitUntil(t, "/readyz to answer 503 after SIGTERM", func() bool {
		status, err := getStatus(base + "/readyz")
		if err != nil || (status != http.StatusOK && status != http.StatusServiceUnavailable) {
			t.Fatalf("/readyz after SIGTERM, before it answered 503: %d %v", status, err)
		}
		return status == http.StatusServiceUnavailable
	})
	if status, err := getStatus(base + "/healthz"); status != http.StatusOK {
		t.Errorf("/healthz while /readyz fails: %d %v; want 200, the server still serving", status, err)
	}
	// After the delay: new connections are refused, and the call in flight
	// still finishes.
	apitest.WaitUntil(t, "the drain to stop taking connections", func() bool { return refusesConnections(base) })
	close(gate)
	if status := <-done; status != 200 {
		t.Errorf("the call in flight got %d", status)
	}
	if code := p.waitExit(t); code != 0 {
		t.Errorf("exit code %d", code)
	}
}

func TestHTTPStartUpRefusesAPublicAddressWithoutTLS(t *testing.T) {
	t.Parallel()
	p := start(t, nil, "--http", "0.0.0.0:0")
	if code := p.waitExit(t); code != 2 || !strings.Contains(p.stderr.String(), "--tls-cert (TOGETHER_SECRETS_TLS_CERT) and --tls-key (TOGETHER_SECRETS_TLS_KEY)") || !strings.Contains(p.stderr.String(), "--behind-tls-proxy") {
		t.Errorf("exit %d: %s", code, p.stderr.String())
	}
}

func TestHTTPServesTLSWithTheGivenCertificate(t *testing.T) {
	t.Parallel()
	api := apitest.NewKeyed(t)
	certFile, keyFile, pool := apitest.SelfSigned(t)
	p, base := startHTTP(t, []string{"TOGETHER_BASE_URL=" + api.URL + "/v1"}, "--tls-cert", certFile, "--tls-key", keyFile)
	tlsURL := strings.Replace(base, "http://", "https://", 1) + "/mcp"
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := c.Do(apitest.MCPRequest(context.Background(), tlsURL, "CANARYKEY-tls-caller", apitest.ListCall))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"count":0`) || resp.TLS == nil {
		t.Errorf("%d %s", resp.StatusCode, b)
	}
	// Plain HTTP to the TLS port is not served.
	if resp, err := http.DefaultClient.Do(apitest.MCPRequest(context.Background(), base+"/mcp", "k", apitest.ListCall)); err == nil {
		if resp.StatusCode == 200 {
			t.Error("plain HTTP was served on the TLS port")
		}
		resp.Body.Close()
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	if code := p.waitExit(t); code != 0 {
		t.Errorf("exit %d", code)
	}
	assertClean(t, map[string]string{"stderr": p.stderr.String()})
}

func TestHTTPSIGHUPDuringTheDrainReopensTheAuditLogAndTheCallInFlightFinishes(t *testing.T) {
	t.Parallel()
	api := apitest.NewKeyed(t)
	gate := make(chan struct{})
	release := sync.OnceFunc(func() { close(gate) })
	t.Cleanup(release)
	api.Hold(gate)
	path := filepath.Join(t.TempDir(), "audit.log")
	p, base := startHTTP(t, []string{"TOGETHER_BASE_URL=" + api.URL + "/v1"}, "--audit-log", path)
	done := make(chan int, 1)
	go func() {
		resp, err := http.DefaultClient.Do(apitest.MCPRequest(context.Background(), base+"/mcp", "k", createCall(1, "DRAINED")))
		if err != nil {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	apitest.WaitUntil(t, "the create reaches Together", func() bool { return api.Inside() == 1 })
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	apitest.WaitUntil(t, "the drain to stop taking connections", func() bool { return refusesConnections(base) })
	// logrotate moves the trail away and says so while the create is still
	// in flight; then a second SIGTERM and a SIGINT, which change nothing.
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	_ = p.cmd.Process.Signal(syscall.SIGHUP)
	waitForLog(t, p, "audit log reopened")
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	_ = p.cmd.Process.Signal(syscall.SIGINT)
	release()
	if status := <-done; status != http.StatusOK {
		t.Errorf("the create in flight got %d, want 200", status)
	}
	if code := p.waitExit(t); code != 0 {
		t.Errorf("exit code %d, want 0:\n%s", code, p.stderr.String())
	}
	old, _ := os.ReadFile(path + ".1")
	now, _ := os.ReadFile(path)
	if e := auditEntries(t, string(old)); len(e) != 1 || e[0]["phase"] != "attempt" {
		t.Errorf("the rotated trail holds %v, want the attempt", e)
	}
	if e := auditEntries(t, string(now)); len(e) != 1 || e[0]["phase"] != "outcome" {
		t.Errorf("the reopened trail holds %v, want the outcome", e)
	}
	assertClean(t, map[string]string{"stderr": p.stderr.String(), "audit": string(old) + string(now)})
}

func TestHTTPARejectedKeySpeaksToTheCallerAboutTheirHeader(t *testing.T) {
	t.Parallel()
	reject := apitest.NewAnswering(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `{"error":{"message":"invalid api key"}}`)
	}))
	_, base := startHTTP(t, []string{"TOGETHER_BASE_URL=" + reject.URL + "/v1"})
	c := apitest.MCPClient(t, base+"/mcp", "CANARYKEY-rejected", "")
	res, err := c.CallTool(t.Context(), mcp.CallToolRequest{Params: mcp.CallToolParams{Name: "list_secrets", Arguments: map[string]any{}}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(res)
	text := string(b)
	if !res.IsError || !strings.Contains(text, `Authorization: Bearer \u003ckey\u003e`) || strings.Contains(text, "restart the server") {
		t.Errorf("a 401 over HTTP should tell the caller to fix their Authorization header, not to restart the server: %s", text)
	}
	assertClean(t, map[string]string{"result": text})
}
