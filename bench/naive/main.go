// Command naive is what a user could write in an afternoon: create_secret on
// mcp-go's defaults, forwarding with http.DefaultClient. The benchmark
// measures the server against it.
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

func main() {
	base, key := os.Getenv("TOGETHER_BASE_URL"), os.Getenv("TOGETHER_API_KEY")
	s := server.NewMCPServer("naive", "1")
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
		hreq.Header.Set("Authorization", "Bearer "+key)
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
	if err := server.ServeStdio(s); err != nil {
		os.Exit(1)
	}
}
