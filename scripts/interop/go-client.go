// Command go-client drives the server with the official Go SDK, which speaks
// the stateless 2026-07-28 protocol by default.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

func main() {
	ctx := context.Background()
	c := mcp.NewClient(&mcp.Implementation{Name: "interop-go", Version: "1"}, nil)
	cmd := exec.Command(os.Args[1], os.Args[2:]...)
	cmd.Stderr = os.Stderr
	s, err := c.Connect(ctx, &mcp.CommandTransport{Command: cmd}, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer s.Close()
	fmt.Println("protocol:", s.InitializeResult().ProtocolVersion)
	res, err := s.CallTool(ctx, &mcp.CallToolParams{Name: "create_secret",
		Arguments: map[string]any{"name": "interop/GO_TOKEN", "value": os.Getenv("VALUE")}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	b, _ := json.Marshal(res)
	fmt.Println("create_secret:", string(b))
}
