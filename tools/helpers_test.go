package tools_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/rs/zerolog"

	"github.com/together-secrets-mcp/together-secrets-mcp/intake"
	"github.com/together-secrets-mcp/together-secrets-mcp/internal/apitest"
	"github.com/together-secrets-mcp/together-secrets-mcp/internal/envfile"
	"github.com/together-secrets-mcp/together-secrets-mcp/internal/syncio"
	"github.com/together-secrets-mcp/together-secrets-mcp/sandbox"
	"github.com/together-secrets-mcp/together-secrets-mcp/togetherapi"
	"github.com/together-secrets-mcp/together-secrets-mcp/tools"
)

// The canaries: if either shows up in any output, a test fails.
const (
	canaryValue = "CANARYVALUE-9f8e7d6c5b4a-<&>\"/é"
	canaryKey   = "CANARYKEY-tk-0011223344556677"
)

// testAdvice names the settings as the program does.
var testAdvice = tools.Advice{
	KeySource:   "TOGETHER_API_KEY",
	SetKey:      "Set TOGETHER_API_KEY in the server's environment, then restart it, or start it with --sandbox.",
	BaseURL:     "TOGETHER_BASE_URL",
	ReadOnly:    "--read-only",
	Tools:       "--tools",
	AllowDelete: "--allow-delete",
}

// protocols are the two generations a client may speak: the stateless
// 2026-07-28 core (server/discover) and the initialize handshake.
var protocols = []struct {
	name string
	opts []client.ClientOption
}{
	{"2026-07-28 discover", nil},
	{"2025-11-25 initialize", []client.ClientOption{client.WithProtocolVersion(mcp.ProtocolVersion20251125)}},
}

// harness is a server wired to the shared stand-in for Together, with the
// sandbox behind it, which enforces the API's rules, and the log.
type harness struct {
	api    *sandbox.Server
	srv    *apitest.API
	logs   *syncio.Buffer
	server *server.MCPServer
	client *togetherapi.Client
	mcp    *client.Client
	// envFile is the dotenv file import_env_file may read; tests write it.
	envFile string
	// intake serves request_secret_from_user's pages.
	intake *intake.Server
}

type harnessOption func(*togetherapi.Config)

func withTimeout(d time.Duration) harnessOption {
	return func(c *togetherapi.Config) { c.Timeout = d }
}

func withRetries(n int) harnessOption {
	return func(c *togetherapi.Config) { c.MaxRetries = n }
}

func withoutKey() harnessOption {
	return func(c *togetherapi.Config) { c.APIKey = togetherapi.Sensitive{} }
}

func withBaseURL(u string) harnessOption {
	return func(c *togetherapi.Config) { c.BaseURL = u }
}

func newHarness(t *testing.T, clientOpts []client.ClientOption, opts ...harnessOption) *harness {
	t.Helper()
	return newHarnessWith(t, nil, clientOpts, opts...)
}

// newHarnessWith is newHarness with the tools' configuration changed by
// setup, such as the operator's rules.
func newHarnessWith(t *testing.T, setup func(*tools.Config), clientOpts []client.ClientOption, opts ...harnessOption) *harness {
	t.Helper()
	h := &harness{srv: apitest.NewSandbox(t, sandbox.Options{APIKey: canaryKey}), logs: &syncio.Buffer{}}
	h.api = h.srv.Account(canaryKey)

	// No retries unless a test asks: the failure tests want each answer as is.
	cfg := togetherapi.Config{BaseURL: h.srv.URL + "/v1", APIKey: togetherapi.NewSensitive(canaryKey), Timeout: 5 * time.Second}
	for _, o := range opts {
		o(&cfg)
	}
	api, err := togetherapi.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.client = api
	h.envFile = filepath.Join(t.TempDir(), ".env")
	if err := os.WriteFile(h.envFile, []byte("# written by each test\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	envSource, err := envfile.Open(h.envFile)
	if err != nil {
		t.Fatal(err)
	}
	h.intake, err = intake.New(intake.Config{Redact: togetherapi.Scrubber{togetherapi.NewSensitive(canaryKey)}, Logger: zerolog.New(h.logs), Grace: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.intake.Close() })
	tcfg := tools.Config{
		Intake:   h.intake,
		EnvFiles: []envfile.Source{envSource},
		Version:  "test",
		Logger:   zerolog.New(h.logs),
		Tools:    tools.Selection{Names: tools.AllTools, EnvFiles: true, Intake: true, AllowDeploymentChanges: true},
		Advice:   testAdvice,
		// Every result in every test must fit its output schema.
		CheckOutputs: true,
	}
	if setup != nil {
		setup(&tcfg)
	}
	s, err := tools.NewServer(tcfg)
	if err != nil {
		t.Fatal(err)
	}
	h.server = s
	c, err := client.NewInProcessClientWithOptions(s, clientOpts...)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Initialize(ctx, mcp.InitializeRequest{Params: mcp.InitializeParams{
		ClientInfo: mcp.Implementation{Name: "test", Version: "1"},
	}}); err != nil {
		t.Fatalf("Initialize: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	h.mcp = c
	return h
}

// sent returns each request the stand-in received, as "METHOD /path".
func (h *harness) sent() []string {
	var out []string
	for _, r := range h.srv.Received() {
		out = append(out, r.Method+" "+r.Path)
	}
	return out
}

// changesSent returns the requests the stand-in received that change
// something: every one but a GET.
func (h *harness) changesSent() []string {
	var out []string
	for _, s := range h.sent() {
		if !strings.HasPrefix(s, "GET ") {
			out = append(out, s)
		}
	}
	return out
}

// setFault makes the stand-in answer every request with f.
func (h *harness) setFault(f http.HandlerFunc) { h.srv.Answer(f) }

// call invokes a tool with raw JSON arguments and returns the result
// re-encoded as the client received it.
func (h *harness) call(t *testing.T, tool string, args any) *mcp.CallToolResult {
	t.Helper()
	res, err := h.mcp.CallTool(h.ctx(), mcp.CallToolRequest{Params: mcp.CallToolParams{Name: tool, Arguments: args}})
	if err != nil {
		t.Fatalf("CallTool(%s): protocol error %v", tool, err)
	}
	return res
}

// ctx is the context of the harness's calls: the Deps a transport adds.
func (h *harness) ctx() context.Context {
	return tools.WithDeps(context.Background(), tools.Deps{Client: h.client})
}

// resultText returns the text of the result's first content item.
func resultText(t *testing.T, r *mcp.CallToolResult) string {
	t.Helper()
	if len(r.Content) == 0 {
		t.Fatal("result has no content")
	}
	tc, ok := r.Content[0].(mcp.TextContent)
	if !ok {
		t.Fatalf("first content is %T, not text", r.Content[0])
	}
	return tc.Text
}

// assertNoLeak fails if a canary, or the given extra values, appear in any
// of the texts: one call of apitest.AssertClean, which finds the canaries
// this package's value and key start with.
func assertNoLeak(t *testing.T, texts map[string]string, extra ...string) {
	t.Helper()
	apitest.AssertClean(t, texts, extra...)
}

// encoded returns the result as the JSON a client would receive.
func encoded(t *testing.T, r *mcp.CallToolResult) string {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// logEvents decodes the JSON log lines.
func logEvents(t *testing.T, logs string) []map[string]any {
	t.Helper()
	var out []map[string]any
	dec := json.NewDecoder(strings.NewReader(logs))
	for {
		var ev map[string]any
		if err := dec.Decode(&ev); err == io.EOF {
			return out
		} else if err != nil {
			t.Fatalf("log is not JSON lines: %v\n%s", err, logs)
		}
		out = append(out, ev)
	}
}

// rawToolsList returns the tools/list result exactly as the server writes
// it on the wire, one raw JSON object per tool.
func (h *harness) rawToolsList(t *testing.T) map[string]json.RawMessage {
	t.Helper()
	return rawToolsList(t, h.server)
}

func rawToolsList(t *testing.T, s *server.MCPServer) map[string]json.RawMessage {
	t.Helper()
	resp := s.HandleMessage(context.Background(), []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
	b, err := json.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	var wire struct {
		Result struct {
			Tools []json.RawMessage `json:"tools"`
		} `json:"result"`
	}
	if err := json.Unmarshal(b, &wire); err != nil || len(wire.Result.Tools) == 0 {
		t.Fatalf("tools/list answered %s (%v)", b, err)
	}
	out := map[string]json.RawMessage{}
	for _, raw := range wire.Result.Tools {
		var named struct{ Name string }
		_ = json.Unmarshal(raw, &named)
		out[named.Name] = raw
	}
	return out
}
