package tools_test

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"go.uber.org/goleak"
)

func TestNoGoroutineOutlivesACall(t *testing.T) {
	h := newHarness(t, nil, withTimeout(200*time.Millisecond), withRetries(1))
	// The harness's own goroutines (server, client) stay; calls must not add any.
	baseline := goleak.IgnoreCurrent()

	faults := []http.HandlerFunc{
		nil, // success
		func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After-Ms", "1")
			w.WriteHeader(503)
		},
		func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(502) },
		func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			<-r.Context().Done()
		},
		func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "http://127.0.0.1:1/elsewhere", http.StatusFound)
		},
		func(w http.ResponseWriter, r *http.Request) {
			// A body past the cap: the client stops reading and must still
			// release the connection.
			w.WriteHeader(200)
			_, _ = w.Write(make([]byte, 3<<20))
		},
	}
	for i, f := range faults {
		if f != nil {
			h.setFault(f)
		}
		h.call(t, "create_secret", map[string]any{"name": "G" + string(rune('A'+i)), "value": canaryValue})
	}
	// A call cancelled by its caller.
	h.setFault(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		<-r.Context().Done()
	})
	ctx, cancel := context.WithTimeout(h.ctx(), 50*time.Millisecond)
	_, _ = h.mcp.CallTool(ctx, mcp.CallToolRequest{Params: mcp.CallToolParams{Name: "create_secret", Arguments: map[string]any{"name": "GZ", "value": canaryValue}}})
	cancel()

	// The stand-in drops its connections, and the client's idle ones end
	// with them; only what a call itself left would stay.
	h.srv.CloseClientConnections()
	goleak.VerifyNone(t, baseline)
}
