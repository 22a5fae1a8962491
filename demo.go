package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/together-secrets-mcp/together-secrets-mcp/sandbox"
)

// runDemo starts this same binary as an MCP server in sandbox mode, the way
// an assistant would, creates a secret through it over stdio, attaches it
// to the sandbox's example deployment and reads where it is used: proof on
// a fresh machine that the whole path works, with no key and no network. It speaks JSON-RPC itself rather than through a client
// library, so the server's binary carries no client code.
func runDemo(ctx context.Context, stdout, stderr io.Writer) int {
	if err := demo(ctx, stdout); err != nil {
		fmt.Fprintf(stderr, "together-secrets-mcp demo: %v\n", err)
		return 1
	}
	return 0
}

// rpcCall sends one JSON-RPC request on w and reads its answer, the next
// line of r.
func rpcCall(w io.Writer, r *bufio.Reader, id int, method string, params any) (json.RawMessage, error) {
	req, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params})
	if _, err := w.Write(append(req, '\n')); err != nil {
		return nil, err
	}
	line, err := r.ReadBytes('\n')
	if err != nil {
		return nil, fmt.Errorf("%s: no answer: %w", method, err)
	}
	var resp struct {
		Result json.RawMessage `json:"result"`
		Error  *struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(line, &resp); err != nil {
		return nil, fmt.Errorf("%s: %w", method, err)
	}
	if resp.Error != nil {
		return nil, fmt.Errorf("%s: %s", method, resp.Error.Message)
	}
	return resp.Result, nil
}

func demo(ctx context.Context, out io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding this program: %w", err)
	}
	cmd := exec.CommandContext(ctx, exe, "--sandbox", "--allow-deployment-changes", "--log-level=error")
	// The sandbox needs no key; make sure none is passed along.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TOGETHER_API_KEY") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting the server: %w", err)
	}
	defer func() { _ = stdin.Close(); _ = cmd.Wait() }()
	replies := bufio.NewReader(pipe)
	call := func(id int, method string, params any) (json.RawMessage, error) {
		return rpcCall(stdin, replies, id, method, params)
	}

	raw, err := call(1, "initialize", map[string]any{
		"protocolVersion": "2025-11-25", "capabilities": map[string]any{},
		"clientInfo": map[string]any{"name": "together-secrets-mcp-demo", "version": buildVersion()},
	})
	if err != nil {
		return fmt.Errorf("MCP handshake: %w", err)
	}
	var init struct {
		ProtocolVersion string `json:"protocolVersion"`
		ServerInfo      struct{ Name, Version string }
	}
	_ = json.Unmarshal(raw, &init)
	fmt.Fprintf(out, "Server:    %s %s over stdio (MCP %s), sandbox mode\n", init.ServerInfo.Name, init.ServerInfo.Version, init.ProtocolVersion)
	if _, err := stdin.Write([]byte(`{"jsonrpc":"2.0","method":"notifications/initialized"}` + "\n")); err != nil {
		return err
	}

	raw, err = call(2, "tools/list", map[string]any{})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Tools:     %s\n", toolNames(raw))

	var r [16]byte
	_, _ = rand.Read(r[:])
	value := "demo-" + hex.EncodeToString(r[:])
	args := map[string]any{"name": "demo/EXAMPLE_TOKEN", "value": value, "description": "created by together-secrets-mcp demo"}
	fmt.Fprintf(out, "Call:      create_secret name=%q value=<%d random characters>\n", args["name"], len(value))
	raw, err = call(3, "tools/call", map[string]any{"name": "create_secret", "arguments": args})
	if err != nil {
		return err
	}
	if err := showResult(out, raw, value); err != nil {
		return fmt.Errorf("create_secret: %w", err)
	}

	attach := map[string]any{"deployment": sandbox.ExampleDeployment, "variable": "EXAMPLE_TOKEN", "secret": args["name"]}
	fmt.Fprintf(out, "Call:      attach_secret deployment=%q variable=%q secret=%q\n", attach["deployment"], attach["variable"], attach["secret"])
	if raw, err = call(4, "tools/call", map[string]any{"name": "attach_secret", "arguments": attach}); err != nil {
		return err
	}
	if err := showResult(out, raw, value); err != nil {
		return fmt.Errorf("attach_secret: %w", err)
	}
	fmt.Fprintf(out, "Call:      get_secret id=%q\n", args["name"])
	if raw, err = call(5, "tools/call", map[string]any{"name": "get_secret", "arguments": map[string]any{"id": args["name"]}}); err != nil {
		return err
	}
	if err := showResult(out, raw, value); err != nil {
		return fmt.Errorf("get_secret: %w", err)
	}
	fmt.Fprintf(out, "Checked:   the value appears nowhere in the results, nor does any plain value of the deployment.\n")
	return nil
}

// toolNames lists the tools of a tools/list result.
func toolNames(raw json.RawMessage) string {
	var list struct{ Tools []struct{ Name string } }
	_ = json.Unmarshal(raw, &list)
	names := make([]string, len(list.Tools))
	for i, t := range list.Tools {
		names[i] = t.Name
	}
	return strings.Join(names, ", ")
}

// showResult prints a tool result's structured content, and fails if it is
// an error or holds the value.
func showResult(out io.Writer, raw json.RawMessage, value string) error {
	var res struct {
		IsError    bool            `json:"isError"`
		Structured json.RawMessage `json:"structuredContent"`
		Content    []struct {
			Text string `json:"text"`
		} `json:"content"`
	}
	if err := json.Unmarshal(raw, &res); err != nil {
		return err
	}
	if strings.Contains(string(raw), value) || strings.Contains(string(raw), sandbox.ExamplePlainValue) {
		return errors.New("a value appears in the result")
	}
	if res.IsError {
		if len(res.Content) > 0 {
			return errors.New(res.Content[0].Text)
		}
		return errors.New("the tool returned an error")
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, res.Structured, "           ", "  "); err != nil {
		return err
	}
	fmt.Fprintf(out, "Result:    %s\n", pretty.String())
	return nil
}
