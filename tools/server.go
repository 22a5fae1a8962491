// Package tools defines the server's MCP tools, each in its own file with its
// definition beside its handler, and builds the MCP server that offers them.
//
// Every handler follows the same rules: arguments are checked before any
// request is sent; failures become tool errors (isError) that say what to do
// next; and every text a handler returns or logs is scrubbed of the secret
// value and the API key.
package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/rs/zerolog"

	"github.com/together-secrets-mcp/together-secrets-mcp/togetherapi"
)

// ServerName is the name the server gives itself in MCP.
const ServerName = "together-secrets-mcp"

// Config is what the tools need from the program.
type Config struct {
	// Client talks to Together, or to the sandbox.
	Client *togetherapi.Client
	// Version is reported to MCP clients.
	Version string
	// Sandbox says the client is backed by the in-memory sandbox, so the
	// server's instructions can say that nothing reaches Together.
	Sandbox bool
	// Redact lists values that must never appear in any output besides the
	// per-call secret value, such as the API key.
	Redact togetherapi.Scrubber
	// Logger receives one event per tool call. It must write to stderr or a
	// file, never stdout, which belongs to the protocol.
	Logger zerolog.Logger
	// Tools chooses which tools are offered.
	Tools Selection
	// CheckOutputs validates every result against its tool's output schema
	// and turns a mismatch into a tool error. The tests turn it on; it costs
	// some 65 allocations a call, so the server leaves it off.
	CheckOutputs bool
}

// Selection chooses the tools a server offers. The zero Selection offers
// DefaultTools.
type Selection struct {
	// Names, when set, are exactly the tools offered.
	Names []string
	// AllowDelete adds delete_secret to the default tools. Deleting a secret
	// a deployment uses breaks the deployment, so it is opt-in.
	AllowDelete bool
	// ReadOnly keeps only the tools that change nothing, whatever else is set.
	ReadOnly bool
}

// DefaultTools are offered unless a Selection says otherwise.
var DefaultTools = []string{"create_secret", "list_secrets", "get_secret", "update_secret"}

// AllTools lists every tool the server can offer.
var AllTools = []string{"create_secret", "list_secrets", "get_secret", "update_secret", "delete_secret"}

// Resolve returns the names of the tools s offers, or an error naming any
// unknown tool and listing the valid ones.
func (s Selection) Resolve() ([]string, error) {
	names := s.Names
	if len(names) == 0 {
		names = slices.Clone(DefaultTools)
		if s.AllowDelete {
			names = append(names, "delete_secret")
		}
	}
	var out []string
	for _, n := range names {
		if !slices.Contains(AllTools, n) {
			return nil, fmt.Errorf("unknown tool %q; the tools are %s", n, strings.Join(AllTools, ", "))
		}
		if slices.Contains(out, n) || (s.ReadOnly && n != "list_secrets" && n != "get_secret") {
			continue
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, errors.New("no tool is left to offer: with read-only mode, choose list_secrets or get_secret")
	}
	return out, nil
}

const instructions = "Stores secrets (API keys, passwords, tokens) in the user's Together AI account for use by Together deployments. " +
	"Values go to Together only; tools return metadata, never a value."

const sandboxInstructions = "SANDBOX MODE: secrets are kept in this process's memory and never reach Together; they vanish when the server stops. " +
	"Otherwise the tools behave as they do against Together: values are accepted, metadata is returned, a value never is."

// NewServer returns an MCP server offering the selected tools, wired to cfg.
func NewServer(cfg Config) (*server.MCPServer, error) {
	names, err := cfg.Tools.Resolve()
	if err != nil {
		return nil, err
	}
	text := instructions
	if cfg.Sandbox {
		text = sandboxInstructions
	}
	opts := []server.ServerOption{
		server.WithToolCapabilities(false),
		server.WithInstructions(text),
	}
	if cfg.CheckOutputs {
		opts = append(opts, server.WithOutputSchemaValidation())
	}
	s := server.NewMCPServer(ServerName, cfg.Version, opts...)
	t := &toolset{cfg: cfg}
	for _, tool := range t.all() {
		if slices.Contains(names, tool.def.Name) {
			s.AddTool(tool.def, t.wrap(tool.def.Name, tool.handle))
		}
	}
	return s, nil
}

// toolset holds what every handler shares.
type toolset struct {
	cfg Config
}

// tool pairs a definition with its handler.
type tool struct {
	def    mcp.Tool
	handle handlerFunc
}

// handlerFunc is a tool handler that reports on its call through rec.
type handlerFunc func(ctx context.Context, req mcp.CallToolRequest, rec *callRecord) *mcp.CallToolResult

func (t *toolset) all() []tool {
	return []tool{
		t.createSecret(),
		t.listSecrets(),
		t.getSecret(),
		t.updateSecret(),
		t.deleteSecret(),
	}
}

// callRecord is what one tool call reports for its log event.
type callRecord struct {
	secret  string // the secret's name, never its value
	outcome string
	scrub   togetherapi.Scrubber // values this call must never output
}

// Outcomes a call is logged with.
const (
	outcomeOK          = "ok"
	outcomeInvalid     = "invalid_arguments"
	outcomeError       = "error"
	outcomeCancelled   = "cancelled"
	outcomePanic       = "panic"
	outcomeUnavailable = "not_configured"
)

// wrap turns h into an mcp-go handler that recovers panics, scrubs the
// result of every sensitive value, and logs one event for the call.
func (t *toolset) wrap(name string, h handlerFunc) server.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (result *mcp.CallToolResult, err error) {
		start := time.Now()
		var info togetherapi.CallInfo
		rec := &callRecord{outcome: outcomeOK}
		info.OnRetry = func(ev togetherapi.RetryEvent) {
			// Logged as it happens; the call's own event comes at the end.
			t.cfg.Logger.Info().Str("tool", name).Str("secret", rec.secret).Str("op", ev.Op).
				Int("attempt", ev.Attempt).Int("http_status", ev.StatusCode).Str("reason", ev.Reason).
				Dur("wait_ms", ev.Wait).Msg("retrying")
		}
		ctx = togetherapi.WithCallInfo(ctx, &info)

		defer func() {
			if p := recover(); p != nil {
				// The panic value may hold anything, a value included: it is
				// neither returned nor logged. The stack holds no string data.
				rec.outcome = outcomePanic
				result = mcp.NewToolResultError(name + " failed with an internal error. " +
					"If it may have reached Together, check the secret's state before retrying.")
				t.cfg.Logger.Error().Str("tool", name).Bytes("stack", debug.Stack()).Msg("tool handler panicked")
			}
			if result != nil && info.Resolution != "" {
				// How an ambiguous answer was settled: the agent should know.
				result.Content = append(result.Content, mcp.NewTextContent("Note: "+info.Resolution+"."))
			}
			result = t.scrubResult(result, rec.scrub)
			t.logCall(name, rec, &info, time.Since(start), result)
		}()
		return h(ctx, req, rec), nil
	}
}

// scrubResult removes the call's sensitive values and the configured ones
// from every text in r: a last line of defence behind the handlers' own care.
// In structured content it scrubs string values only, never keys, so the
// result keeps the shape its output schema promises.
//
// Every structured result here comes from structuredResult, whose first
// text is the structured content's JSON: when that text is clean, so is the
// structured content, and nothing needs encoding again.
func (t *toolset) scrubResult(r *mcp.CallToolResult, scrub togetherapi.Scrubber) *mcp.CallToolResult {
	all := append(append(togetherapi.Scrubber{}, scrub...), t.cfg.Redact...)
	if r == nil || len(all) == 0 {
		return r
	}
	for i, c := range r.Content {
		tc, ok := c.(mcp.TextContent)
		if !ok || !all.Contained(tc.Text) {
			continue
		}
		if i == 0 && r.StructuredContent != nil {
			// The JSON twin: scrub the values, then write both anew, so that
			// keys stay intact.
			var v any
			if err := json.Unmarshal([]byte(tc.Text), &v); err != nil {
				return mcp.NewToolResultError("could not encode the result: " + err.Error())
			}
			r.StructuredContent = scrubStrings(v, all)
			b, _ := json.Marshal(r.StructuredContent)
			tc.Text = string(b)
		} else {
			tc.Text = all.Scrub(tc.Text)
		}
		r.Content[i] = tc
	}
	return r
}

// scrubStrings scrubs every string value in a decoded JSON document.
func scrubStrings(v any, s togetherapi.Scrubber) any {
	switch v := v.(type) {
	case string:
		return s.Scrub(v)
	case map[string]any:
		for k, e := range v {
			v[k] = scrubStrings(e, s)
		}
	case []any:
		for i, e := range v {
			v[i] = scrubStrings(e, s)
		}
	}
	return v
}

func (t *toolset) logCall(name string, rec *callRecord, info *togetherapi.CallInfo, d time.Duration, r *mcp.CallToolResult) {
	level := zerolog.InfoLevel
	if rec.outcome != outcomeOK {
		level = zerolog.WarnLevel
	}
	ev := t.cfg.Logger.WithLevel(level).
		Str("tool", name).
		Str("outcome", rec.outcome).
		Int("http_status", info.StatusCode).
		Int("attempts", info.Attempts).
		Dur("duration_ms", d)
	if rec.secret != "" {
		ev = ev.Str("secret", rec.secret)
	}
	if info.RequestID != "" {
		ev = ev.Str("request_id", info.RequestID)
	}
	if info.Resolution != "" {
		ev = ev.Str("resolution", info.Resolution)
	}
	if r != nil && r.IsError && len(r.Content) > 0 {
		if tc, ok := r.Content[0].(mcp.TextContent); ok {
			// Already scrubbed by scrubResult.
			ev = ev.Str("error", tc.Text)
		}
	}
	ev.Msg("tool call")
}

// secretResult is the result of a tool that returns one secret's metadata.
// A missing name is filled in with fallbackName, the name the call used.
func secretResult(s *togetherapi.Secret, fallbackName string) *mcp.CallToolResult {
	out := *s
	if out.Name == "" {
		out.Name = fallbackName
	}
	return structuredResult(out)
}

// structuredResult returns v as structured content, and the same JSON as
// text for clients that read only text.
func structuredResult(v any) *mcp.CallToolResult {
	text, err := json.Marshal(v)
	if err != nil {
		return mcp.NewToolResultError("could not encode the result: " + err.Error())
	}
	return mcp.NewToolResultStructured(v, string(text))
}

// secretItemSchema describes one secret's metadata: the API's
// SecretResponseItem, which has no value field.
var secretItemSchema = json.RawMessage(`{"type": "object", "properties": {` +
	`"object": {"type": "string"}, "id": {"type": "string"}, "name": {"type": "string"}, "description": {"type": "string"}, ` +
	`"created_at": {"type": "string"}, "updated_at": {"type": "string"}, "created_by": {"type": "string"}, "last_updated_by": {"type": "string"}}}`)

// secretOutputSchema is the output schema of a tool returning one secret.
var secretOutputSchema = secretItemSchema

// idProperty is the schema of the argument that names a secret.
const idProperty = `{"type": "string", "minLength": 1, "description": "The secret's ID or name."}`

// annotate sets all four behaviour hints and the titles explicitly, since
// an unset hint is read by clients as the most pessimistic one.
func annotate(t mcp.Tool, title string, readOnly, destructive, idempotent bool) mcp.Tool {
	t.Title = title
	t.Annotations = mcp.ToolAnnotation{
		Title:           title,
		ReadOnlyHint:    mcp.ToBoolPtr(readOnly),
		DestructiveHint: mcp.ToBoolPtr(destructive),
		IdempotentHint:  mcp.ToBoolPtr(idempotent),
		OpenWorldHint:   mcp.ToBoolPtr(true),
	}
	return t
}

// isCancelled reports whether err came from the caller giving up.
func isCancelled(ctx context.Context, err error) bool {
	return errors.Is(err, context.Canceled) && ctx.Err() != nil
}
