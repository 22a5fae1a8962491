package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/together-secrets-mcp/together-secrets-mcp/internal/apitest"
)

// auditEntries reads the audit lines in text: every JSON line of the
// audit stream, skipping log lines.
func auditEntries(t *testing.T, text string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		var e map[string]any
		if json.Unmarshal(sc.Bytes(), &e) == nil && e["stream"] == "together-secrets-mcp/audit" {
			out = append(out, e)
		}
	}
	return out
}

func TestHTTPAuditLinesTellTwoCallersApartAndHoldNoValueOrKey(t *testing.T) {
	t.Parallel()
	api := apitest.NewKeyed(t)
	// "-": the trail goes to stderr, as a stream of its own among the log.
	p, base := startHTTP(t, []string{"TOGETHER_BASE_URL=" + api.URL + "/v1", "TOGETHER_SECRETS_AUDIT_LOG=-"}, "--name-prefix", "team-a/")
	keys := []string{"CANARYKEY-caller-one-1111", "CANARYKEY-caller-two-2222"}
	for i, key := range keys {
		c := apitest.MCPClient(t, base+"/mcp", key, "")
		name := fmt.Sprintf("team-a/CALLER_%d", i)
		for _, step := range []struct {
			tool string
			args map[string]any
		}{
			{"create_secret", map[string]any{"name": name, "value": e2eValue}},
			{"create_secret", map[string]any{"name": "team-b/OUTSIDE", "value": e2eValue}},
		} {
			if _, err := c.CallTool(t.Context(), mcp.CallToolRequest{Params: mcp.CallToolParams{Name: step.tool, Arguments: step.args}}); err != nil {
				t.Fatal(err)
			}
		}
		c.Close()
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	p.waitExit(t)
	lines := auditEntries(t, p.stderr.String())
	callers := map[string]map[string]bool{} // caller -> phases seen
	for _, e := range lines {
		c, _ := e["caller"].(string)
		if c == "" {
			t.Errorf("an audit line with no caller: %v", e)
		}
		if callers[c] == nil {
			callers[c] = map[string]bool{}
		}
		callers[c][e["phase"].(string)] = true
	}
	if len(lines) != 6 || len(callers) != 2 {
		t.Fatalf("%d audit lines from %d callers, want 6 from 2:\n%s", len(lines), len(callers), p.stderr.String())
	}
	for c, phases := range callers {
		if !phases["attempt"] || !phases["outcome"] || !phases["refused"] {
			t.Errorf("caller %s has phases %v", c, phases)
		}
	}
	assertClean(t, map[string]string{"stderr": p.stderr.String()})
	for _, k := range keys {
		if strings.Contains(p.stderr.String(), k) {
			t.Errorf("stderr holds a caller's key")
		}
	}
}

func TestStdioAuditLogIsReopenedOnSIGHUPAndAChangeItCannotRecordIsRefused(t *testing.T) {
	t.Parallel()
	srv, api := sandboxAPI(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.log")
	p := initialized(t, srv.URL, "TOGETHER_SECRETS_AUDIT_LOG="+path)
	create := func(id int, name string) map[string]any {
		p.send(t, createCall(id, name))
		res, _ := p.response(t, id)["result"].(map[string]any)
		return res
	}
	if res := create(10, "e2e/BEFORE"); res == nil || res["isError"] == true {
		t.Fatalf("create: %v", res)
	}
	// logrotate: move the file away, then SIGHUP.
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	_ = p.cmd.Process.Signal(syscall.SIGHUP)
	waitForLog(t, p, "audit log reopened")
	if res := create(11, "e2e/AFTER"); res == nil || res["isError"] == true {
		t.Fatalf("create after rotation: %v", res)
	}
	old, _ := os.ReadFile(path + ".1")
	now, _ := os.ReadFile(path)
	if n := len(auditEntries(t, string(old))); n != 2 {
		t.Errorf("the rotated file holds %d lines, want 2", n)
	}
	if e := auditEntries(t, string(now)); len(e) != 2 || e[0]["secret"] != "e2e/AFTER" || e[0]["client"] == nil {
		t.Errorf("the new file holds %v", e)
	}

	// The disk fills: the next change is refused, and nothing is sent.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/dev/full", path); err != nil {
		t.Fatal(err)
	}
	_ = p.cmd.Process.Signal(syscall.SIGHUP)
	apitest.WaitWithin(t, 5*time.Second, "the audit log to be reopened again", func() bool {
		return strings.Count(p.stderr.String(), "audit log reopened") >= 2
	})
	before := api.Len()
	res := create(12, "e2e/REFUSED")
	b, _ := json.Marshal(res)
	if res == nil || res["isError"] != true || !strings.Contains(string(b), "TOGETHER_SECRETS_AUDIT_LOG") || !strings.Contains(string(b), "Nothing was sent") {
		t.Errorf("create with the audit log full: %s", b)
	}
	if api.Len() != before {
		t.Error("a change that could not be recorded was sent")
	}
	p.exit(t)
	assertClean(t, map[string]string{"stdout": p.allStdout(), "stderr": p.stderr.String(), "audit": string(old) + string(now)})
}

// waitForLog waits until the server's stderr holds msg.
func waitForLog(t *testing.T, p *proc, msg string) {
	t.Helper()
	if !apitest.Within(5*time.Second, func() bool { return strings.Contains(p.stderr.String(), msg) }) {
		t.Fatalf("no %q in the log:\n%s", msg, p.stderr.String())
	}
}

// toolsOffered names the tools the HTTP server at base offers a caller
// with key.
func toolsOffered(t *testing.T, base, key string) []string {
	t.Helper()
	c := apitest.MCPClient(t, base+"/mcp", key, "")
	defer c.Close()
	list, err := c.ListTools(t.Context(), mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var offered []string
	for _, tool := range list.Tools {
		offered = append(offered, tool.Name)
	}
	return offered
}

func TestHTTPSaysAtStartUpThatNoToolCanSetAValueUnderValuesFromUserOnlyWithoutAPublicURL(t *testing.T) {
	t.Parallel()
	api := apitest.NewKeyed(t)
	p, base := startHTTP(t, []string{"TOGETHER_BASE_URL=" + api.URL + "/v1"}, "--values-from-user-only")
	waitForLog(t, p, "serving MCP over streamable HTTP")
	if !strings.Contains(p.stderr.String(), "no tool can set a value") || !strings.Contains(p.stderr.String(), "without --public-url (TOGETHER_SECRETS_PUBLIC_URL)") {
		t.Errorf("no start-up warning naming --public-url:\n%s", p.stderr.String())
	}
	offered := toolsOffered(t, base, "CANARYKEY-values-only")
	// The tools that read stay: without them, an empty list would pass.
	for _, name := range []string{"get_secret", "list_secrets"} {
		if !slices.Contains(offered, name) {
			t.Errorf("HTTP mode offers %v under values-from-user-only, without %s", offered, name)
		}
	}
	for _, name := range []string{"create_secret", "request_secret_from_user", "import_env_file"} {
		if slices.Contains(offered, name) {
			t.Errorf("HTTP mode offers %s under values-from-user-only", name)
		}
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	p.waitExit(t)
}

func TestHTTPWithAPublicURLTakesValuesFromThePageUnderValuesFromUserOnly(t *testing.T) {
	t.Parallel()
	api := apitest.NewKeyed(t)
	p, base := startHTTP(t, []string{"TOGETHER_BASE_URL=" + api.URL + "/v1"}, "--values-from-user-only", "--public-url", "http://127.0.0.1:9")
	waitForLog(t, p, "serving MCP over streamable HTTP")
	for _, want := range []string{"serving the one-time value page", "work only on this replica"} {
		if !strings.Contains(p.stderr.String(), want) {
			t.Errorf("the start-up log lacks %q:\n%s", want, p.stderr.String())
		}
	}
	if strings.Contains(p.stderr.String(), "no tool can set a value") {
		t.Errorf("a warning that no tool can set a value, though the page is served:\n%s", p.stderr.String())
	}
	offered := toolsOffered(t, base, "CANARYKEY-values-only")
	if !slices.Contains(offered, "request_secret_from_user") || slices.Contains(offered, "create_secret") {
		t.Errorf("offered %v; want request_secret_from_user and not create_secret", offered)
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	p.waitExit(t)
}

func TestStdioWarnsThatAnAuditStreamOnStderrNeedsAReader(t *testing.T) {
	t.Parallel()
	p := start(t, nil, "--sandbox", "--audit-log", "-")
	p.send(t, `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`)
	p.response(t, 1)
	p.exit(t)
	if !strings.Contains(p.stderr.String(), "a host that does not read it will see every change refused") {
		t.Errorf("no warning:\n%s", p.stderr.String())
	}
}
