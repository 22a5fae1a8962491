package httpserve

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/together-secrets-mcp/together-secrets-mcp/internal/apitest"
)

func TestHostGuardAnswersOnlyToNamesItWasTold(t *testing.T) {
	t.Parallel()
	h := handlerWith(t, func(c *Config) { c.AllowedHosts = []string{"mcp.example.com"} })
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

func TestHTTPAllowedHostsLetAProxyOnTheSameHostForward(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		hosts   []string
		host    string
		status  int
		mention string
	}{
		{name: "a public name without the setting", host: "mcp.example.com", status: 403, mention: "--allowed-hosts (TOGETHER_SECRETS_ALLOWED_HOSTS)"},
		{name: "a listed name", hosts: []string{"mcp.example.com"}, host: "mcp.example.com", status: 200},
		{name: "a listed name in other case with a port", hosts: []string{"mcp.example.com"}, host: "mcp.EXAMPLE.com:443", status: 200},
		{name: "a listed name and port, another port", hosts: []string{"mcp.example.com:8443"}, host: "mcp.example.com:9999", status: 403},
		{name: "an unlisted name beside a listed one", hosts: []string{"mcp.example.com"}, host: "evil.example", status: 403, mention: "\"evil.example\""},
		{name: "loopback always", hosts: []string{"mcp.example.com"}, host: "localhost", status: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hh := newHTTPHarness(t, func(c *Config) { c.AllowedHosts = tt.hosts })
			req := apitest.MCPRequest(t.Context(), hh.srv.URL+"/mcp", "k", apitest.ListCall)
			req.Host = tt.host
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status || !strings.Contains(string(b), tt.mention) {
				t.Errorf("status %d, want %d, and a body naming %q: %s", resp.StatusCode, tt.status, tt.mention, b)
			}
			if tt.status == 403 && !strings.HasPrefix(string(b), "forbidden: ") {
				t.Errorf("a refusal not in this server's words: %s", b)
			}
		})
	}
}
