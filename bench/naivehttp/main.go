// Command naivehttp is the plain mcp-go streamable-HTTP forwarder: the same
// create_secret as the naive stdio forwarder, stateless, on mcp-go's and
// net/http's defaults, with each caller's key taken from its Authorization
// header. The benchmark measures the server's HTTP mode against it.
//
//	naivehttp ADDR
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

type keyCtx struct{}

func main() {
	base := os.Getenv("TOGETHER_BASE_URL")
	s := server.NewMCPServer("naivehttp", "1")
	tool := mcp.NewTool("create_secret",
		mcp.WithDescription("Create a Together secret."),
		mcp.WithString("name", mcp.Required()),
		mcp.WithString("value", mcp.Required()),
		mcp.WithString("description"),
	)
	s.AddTool(tool, func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		body, err := json.Marshal(req.GetArguments())
		if err != nil {
			return mcp.NewToolResultError(err.Error()), nil
		}
		hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/deployments/secrets", bytes.NewReader(body))
		if err != nil {
			return mcp.NewToolResultError(err.Error()), nil
		}
		hreq.Header.Set("Authorization", ctx.Value(keyCtx{}).(string))
		hreq.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(hreq)
		if err != nil {
			return mcp.NewToolResultError(err.Error()), nil
		}
		defer resp.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			return mcp.NewToolResultError(err.Error()), nil
		}
		return mcp.NewToolResultStructuredOnly(out), nil
	})
	h := server.NewStreamableHTTPServer(s, server.WithStateLess(true),
		server.WithHTTPContextFunc(func(ctx context.Context, r *http.Request) context.Context {
			return context.WithValue(ctx, keyCtx{}, r.Header.Get("Authorization"))
		}))
	if err := http.ListenAndServe(os.Args[1], h); err != nil {
		os.Exit(1)
	}
}
