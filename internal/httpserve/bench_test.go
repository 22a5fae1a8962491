package httpserve

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/together-secrets-mcp/together-secrets-mcp/internal/apitest"
)

// BenchmarkHTTPCreateSecret measures one create_secret POST through HTTP
// mode's whole handler (every guard, mcp-go's stateless streamable HTTP,
// the tool and the Together client) against a stand-in that answers at
// once. Run with -benchmem: bytes and allocations per request are what
// each caller costs the server beyond its connection; go run ./bench
// gives the figures across processes.
func BenchmarkHTTPCreateSecret(b *testing.B) {
	api := apitest.NewCreateStandIn()
	defer api.Close()
	cfg := testConfig(b, api.URL+"/v1", zerolog.New(io.Discard))
	h, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		id := strconv.Itoa(i)
		r := onLoopback(httptest.NewRequest(http.MethodPost, "/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":`+id+
			`,"method":"tools/call","params":{"name":"create_secret","arguments":{"name":"bench/H`+id+`","value":"bench-value-0123456789abcdef"}}}`)))
		r.Host = "127.0.0.1:8080"
		r.Header.Set("Authorization", "Bearer bench-key-0123456789")
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Accept", "application/json, text/event-stream")
		r.Header.Set("Mcp-Protocol-Version", "2025-11-25")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"result"`) || strings.Contains(w.Body.String(), `"isError":true`) {
			b.Fatalf("request %d: %d %.300s", i, w.Code, w.Body.String())
		}
	}
}
