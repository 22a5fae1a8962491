// Command go-client drives the server with the official Go SDK, which speaks
// the stateless 2026-07-28 protocol by default: over stdio
// (go-client BINARY ARGS...), or over streamable HTTP with a key
// (go-client --url URL KEY).
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// bearer adds the caller's key to every request.
type bearer struct{ key string }

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.key)
	return http.DefaultTransport.RoundTrip(r)
}

func main() {
	ctx := context.Background()
	c := mcp.NewClient(&mcp.Implementation{Name: "interop-go", Version: "1"}, nil)
	var t mcp.Transport
	name := "interop/GO_TOKEN"
	if len(os.Args) == 4 && os.Args[1] == "--url" {
		t = &mcp.StreamableClientTransport{Endpoint: os.Args[2], HTTPClient: &http.Client{Transport: bearer{os.Args[3]}}, DisableStandaloneSSE: true}
		name = "interop/GO_HTTP_TOKEN"
	} else {
		cmd := exec.Command(os.Args[1], os.Args[2:]...)
		cmd.Stderr = os.Stderr
		t = &mcp.CommandTransport{Command: cmd}
	}
	s, err := c.Connect(ctx, t, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer s.Close()
	fmt.Println("protocol:", s.InitializeResult().ProtocolVersion)
	for _, call := range []*mcp.CallToolParams{
		{Name: "create_secret", Arguments: map[string]any{"name": name, "value": os.Getenv("VALUE")}},
		{Name: "get_secret", Arguments: map[string]any{"id": name}},
	} {
		res, err := s.CallTool(ctx, call)
		if err != nil || res.IsError {
			b, _ := json.Marshal(res)
			fmt.Fprintln(os.Stderr, call.Name, err, string(b))
			os.Exit(1)
		}
		b, _ := json.Marshal(res)
		fmt.Printf("%s: %s\n", call.Name, b)
	}
}
