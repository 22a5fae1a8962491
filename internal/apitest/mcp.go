package apitest

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
)

// MCPClient is mcp-go's streamable HTTP client at url, initialized, sending
// key as a bearer token and speaking version ("" for its newest).
func MCPClient(t testing.TB, url, key, version string) *client.Client {
	t.Helper()
	tr, err := transport.NewStreamableHTTP(url, transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + key}))
	if err != nil {
		t.Fatal(err)
	}
	var opts []client.ClientOption
	if version != "" {
		opts = append(opts, client.WithProtocolVersion(version))
	}
	c := client.NewClient(tr, opts...)
	if err := c.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := c.Initialize(t.Context(), mcp.InitializeRequest{Params: mcp.InitializeParams{ClientInfo: mcp.Implementation{Name: "http-test", Version: "1"}}}); err != nil {
		t.Fatalf("initialize (%s): %v", version, err)
	}
	return c
}

// MCPRequest is a raw MCP POST with a caller's key, as clients send it.
// Like httptest.NewRequest it panics on a URL it cannot parse: it is called
// from goroutines a test starts, where t.Fatal may not be, and a panic
// there still fails the run, naming the URL.
func MCPRequest(ctx context.Context, url, key, body string) *http.Request {
	req, err := http.NewRequestWithContext(ctx, "POST", url, strings.NewReader(body))
	if err != nil {
		panic(fmt.Sprintf("apitest.MCPRequest: %v", err))
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
	return req
}

// ListCall is a tools/call of list_secrets, as a raw JSON-RPC message.
const ListCall = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_secrets","arguments":{}}}`
