package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
)

// runDemo starts this same binary as an MCP server in sandbox mode, the way
// an assistant would, and makes one create_secret call through it: proof on
// a fresh machine that the whole path works, with no key and no network.
func runDemo(ctx context.Context, stdout, stderr io.Writer) int {
	if err := demo(ctx, stdout); err != nil {
		fmt.Fprintf(stderr, "together-secrets-mcp demo: %v\n", err)
		return 1
	}
	return 0
}

func demo(ctx context.Context, out io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding this program: %w", err)
	}
	c, err := client.NewStdioMCPClient(exe, []string{"TOGETHER_API_KEY=", "TOGETHER_API_KEY_FILE="}, "--sandbox", "--log-level=error")
	if err != nil {
		return fmt.Errorf("starting the server: %w", err)
	}
	defer c.Close()

	init, err := c.Initialize(ctx, mcp.InitializeRequest{Params: mcp.InitializeParams{
		ClientInfo: mcp.Implementation{Name: "together-secrets-mcp-demo", Version: buildVersion()},
	}})
	if err != nil {
		return fmt.Errorf("MCP handshake: %w", err)
	}
	fmt.Fprintf(out, "Server:    %s %s over stdio (MCP %s), sandbox mode\n", init.ServerInfo.Name, init.ServerInfo.Version, init.ProtocolVersion)

	list, err := c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		return fmt.Errorf("listing tools: %w", err)
	}
	names := make([]string, len(list.Tools))
	for i, t := range list.Tools {
		names[i] = t.Name
	}
	fmt.Fprintf(out, "Tools:     %s\n", strings.Join(names, ", "))

	var raw [16]byte
	_, _ = rand.Read(raw[:])
	value := "demo-" + hex.EncodeToString(raw[:])
	args := map[string]any{"name": "demo/EXAMPLE_TOKEN", "value": value, "description": "created by together-secrets-mcp demo"}
	fmt.Fprintf(out, "Call:      create_secret name=%q value=<%d random characters>\n", args["name"], len(value))

	res, err := c.CallTool(ctx, mcp.CallToolRequest{Params: mcp.CallToolParams{Name: "create_secret", Arguments: args}})
	if err != nil {
		return fmt.Errorf("calling create_secret: %w", err)
	}
	whole, err := json.MarshalIndent(res, "           ", "  ")
	if err != nil {
		return fmt.Errorf("encoding the result: %w", err)
	}
	fmt.Fprintf(out, "Result:    %s\n", whole)
	if strings.Contains(string(whole), value) {
		return fmt.Errorf("the value appears in the result")
	}
	if res.IsError {
		return fmt.Errorf("create_secret returned an error")
	}
	fmt.Fprintf(out, "Checked:   the value appears nowhere in the result.\n")
	return nil
}
