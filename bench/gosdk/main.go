// Command gosdk is the official Go SDK's streamable-HTTP forwarder:
// create_secret on the SDK's stateless handler and net/http's defaults, with
// each caller's key taken from its Authorization header. It is a module of
// its own, so the server's module never depends on the SDK.
//
//	gosdk ADDR
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

type args struct {
	Name        string `json:"name"`
	Value       string `json:"value"`
	Description string `json:"description,omitempty"`
}

func main() {
	base := os.Getenv("TOGETHER_BASE_URL")
	s := mcp.NewServer(&mcp.Implementation{Name: "gosdk", Version: "1"}, nil)
	mcp.AddTool(s, &mcp.Tool{Name: "create_secret", Description: "Create a Together secret."},
		func(ctx context.Context, req *mcp.CallToolRequest, in args) (*mcp.CallToolResult, map[string]any, error) {
			body, err := json.Marshal(in)
			if err != nil {
				return nil, nil, err
			}
			hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/deployments/secrets", bytes.NewReader(body))
			if err != nil {
				return nil, nil, err
			}
			hreq.Header.Set("Authorization", req.Extra.Header.Get("Authorization"))
			hreq.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(hreq)
			if err != nil {
				return nil, nil, err
			}
			defer resp.Body.Close()
			var out map[string]any
			if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
				return nil, nil, err
			}
			return nil, out, nil
		})
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s }, &mcp.StreamableHTTPOptions{Stateless: true, JSONResponse: true})
	if err := http.ListenAndServe(os.Args[1], h); err != nil {
		os.Exit(1)
	}
}
