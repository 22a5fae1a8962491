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

	"github.com/together-secrets-mcp/together-secrets-mcp/intake"
	"github.com/together-secrets-mcp/together-secrets-mcp/internal/envfile"
	"github.com/together-secrets-mcp/together-secrets-mcp/togetherapi"
)

// ServerName is the name the server gives itself in MCP.
const ServerName = "together-secrets-mcp"

// Config is what the tools need from the program.
type Config struct {
	// Client talks to Together, or to the sandbox, for calls whose context
	// carries no Deps of their own (stdio, where one key serves all).
	Client *togetherapi.Client
	// Version is reported to MCP clients.
	Version string
	// Sandbox says the client is backed by the in-memory sandbox, so the
	// server's instructions can say that nothing reaches Together.
	Sandbox bool
	// Redact lists values that must never appear in any output besides the
	// per-call secret value, such as the API key, for calls whose context
	// carries no Deps of their own.
	Redact togetherapi.Scrubber
	// Logger receives one event per tool call. It must write to stderr or a
	// file, never stdout, which belongs to the protocol.
	Logger zerolog.Logger
	// Tools chooses which tools are offered.
	Tools Selection
	// Advice names the settings that error messages tell the user to change.
	Advice Advice
	// EnvFiles are the dotenv files import_env_file may read, as opened at
	// start-up; the agent can name no other.
	EnvFiles []envfile.Source
	// Intake serves the one-time pages of request_secret_from_user; nil
	// where the server does not run on the user's machine (HTTP mode).
	Intake *intake.Server
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
	// EnvFiles says dotenv files are configured, without which
	// import_env_file has nothing to read and is not offered.
	EnvFiles bool
	// Intake says the one-time value pages are available, without which
	// request_secret_from_user is not offered.
	Intake bool
}

// AllTools lists every tool the server can offer; DefaultTools those
// offered unless a Selection says otherwise (EnvFileTools among them only
// when dotenv files are configured); ReadOnlyTools those that change
// nothing. All derive from the tools' own definitions.
var (
	AllTools      = toolNames(func(tool) bool { return true })
	DefaultTools  = toolNames(func(x tool) bool { return x.byDefault })
	EnvFileTools  = toolNames(func(x tool) bool { return x.needsEnvFiles })
	IntakeTools   = toolNames(func(x tool) bool { return x.needsIntake })
	ReadOnlyTools = toolNames(func(x tool) bool { return *x.def.Annotations.ReadOnlyHint })
)

func toolNames(keep func(tool) bool) []string {
	var out []string
	for _, x := range (&toolset{}).all() {
		if keep(x) {
			out = append(out, x.def.Name)
		}
	}
	return out
}

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
		if slices.Contains(EnvFileTools, n) && !s.EnvFiles {
			if len(s.Names) > 0 && !s.ReadOnly {
				return nil, fmt.Errorf("tool %q reads dotenv files, and none is configured: name at least one env file", n)
			}
			continue
		}
		if slices.Contains(IntakeTools, n) && !s.Intake {
			if len(s.Names) > 0 && !s.ReadOnly {
				return nil, fmt.Errorf("tool %q needs the one-time value page, which only the stdio server on the user's machine serves", n)
			}
			continue
		}
		if slices.Contains(out, n) || (s.ReadOnly && !slices.Contains(ReadOnlyTools, n)) {
			continue
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no tool is left to offer: with read-only mode, choose among %s", strings.Join(ReadOnlyTools, ", "))
	}
	return out, nil
}

const instructions = "Stores secrets (API keys, passwords, tokens) in the user's Together AI account for use by Together deployments. " +
	"Values go to Together only; tools return metadata, never a value."

const sandboxInstructions = "SANDBOX MODE: secrets are kept in this process's memory and never reach Together; they vanish when the server stops. " +
	"Otherwise the tools behave as they do against Together: values are accepted, metadata is returned, a value never is."

// NewServer returns an MCP server offering the selected tools, wired to cfg.
//
// Every tool is registered, but those not selected are hidden from
// tools/list and answer a call with an error naming the setting that offers
// them, rather than mcp-go's bare "tool not found".
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
		server.WithToolFilter(func(_ context.Context, tools []mcp.Tool) []mcp.Tool {
			// mcp-go runs the filters on the whole list for tools/list, and
			// on the one tool named for tools/call: a call passes, so that
			// the tool's own handler can say how to offer it.
			if len(tools) <= 1 {
				return tools
			}
			return slices.DeleteFunc(tools, func(x mcp.Tool) bool { return !slices.Contains(names, x.Name) })
		}),
	}
	if cfg.CheckOutputs {
		opts = append(opts, server.WithOutputSchemaValidation())
	}
	s := server.NewMCPServer(ServerName, cfg.Version, opts...)
	t := &toolset{cfg: cfg, advice: cfg.Advice.withDefaults()}
	for _, x := range t.all() {
		h := x.handle
		if !slices.Contains(names, x.def.Name) {
			h = t.notOffered(x.def.Name)
		}
		s.AddTool(x.def, t.wrap(x.def.Name, h))
	}
	return s, nil
}

// toolset holds what every handler shares.
type toolset struct {
	cfg    Config
	advice Advice
}

// tool pairs a definition with its handler.
type tool struct {
	def    mcp.Tool
	handle handlerFunc
	// byDefault says the tool is offered unless a Selection says otherwise.
	byDefault bool
	// needsEnvFiles says the tool is offered only with dotenv files.
	needsEnvFiles bool
	// needsIntake says the tool is offered only with the value pages.
	needsIntake bool
}

// handlerFunc is a tool handler that reports on its call through rec.
type handlerFunc func(ctx context.Context, req mcp.CallToolRequest, rec *callRecord) *mcp.CallToolResult

// all is the registry: every tool, in the order tools/list gives them.
func (t *toolset) all() []tool {
	return []tool{
		t.createSecret(),
		t.listSecrets(),
		t.getSecret(),
		t.updateSecret(),
		t.deleteSecret(),
		t.importEnvFile(),
		t.requestSecretFromUser(),
	}
}

// notOffered answers a call to a tool the selection left out.
func (t *toolset) notOffered(name string) handlerFunc {
	return func(_ context.Context, _ mcp.CallToolRequest, rec *callRecord) *mcp.CallToolResult {
		rec.outcome = outcomeNotOffered
		sel, adv := t.cfg.Tools, t.advice
		var how string
		switch {
		case sel.ReadOnly && !slices.Contains(ReadOnlyTools, name):
			how = fmt.Sprintf("the server runs read-only (%s), which offers only %s", adv.ReadOnly, strings.Join(ReadOnlyTools, " and "))
		case slices.Contains(IntakeTools, name) && !sel.Intake:
			how = "the one-time value page is served only by the stdio server on the user's machine"
		case slices.Contains(EnvFileTools, name) && !sel.EnvFiles:
			how = fmt.Sprintf("it reads only dotenv files the user names at start-up, and none is named; start the server with %s", adv.EnvFile)
		case len(sel.Names) > 0:
			how = fmt.Sprintf("it is not among the tools chosen with %s; add it there and restart the server", adv.Tools)
		default:
			how = fmt.Sprintf("start the server with %s to offer it", adv.AllowDelete)
		}
		return mcp.NewToolResultError(fmt.Sprintf("%s is not offered by this server: %s. Nothing was sent to Together.", name, how))
	}
}

// Deps are what one tool call takes from outside: the client that talks to
// Together with the caller's key, and the strings no output of the call may
// hold (that key among them). A transport that serves many callers (HTTP)
// puts each request's Deps into its context with WithDeps; without them, a
// call uses the Client and Redact of the Config.
type Deps struct {
	Client *togetherapi.Client
	Redact togetherapi.Scrubber
	// Caller tells callers apart in the logs, such as a fingerprint of
	// their key; never the key.
	Caller string
}

type depsKey struct{}

// WithDeps returns a context whose tool calls use d.
func WithDeps(ctx context.Context, d Deps) context.Context {
	return context.WithValue(ctx, depsKey{}, d)
}

// deps returns the call's dependencies.
func (t *toolset) deps(ctx context.Context) Deps {
	if d, ok := ctx.Value(depsKey{}).(Deps); ok {
		return d
	}
	return Deps{Client: t.cfg.Client, Redact: t.cfg.Redact}
}

// client returns the call's client.
func (t *toolset) client(ctx context.Context) *togetherapi.Client { return t.deps(ctx).Client }

// callRecord is what one tool call reports for its log event.
type callRecord struct {
	secret  string // the secret's name, never its value
	file    string // the dotenv file read, if any
	outcome string
	// kept are strings the caller sent, or built from what it sent, which
	// come back exactly as sent wherever they stand whole in a result:
	// withholding one would tell the caller it holds a value.
	kept   map[string]bool
	scrub  togetherapi.Scrubber // values this call must never output
	redact togetherapi.Scrubber // the call's Deps.Redact: its key, and the like
	caller string               // the call's Deps.Caller
}

// Outcomes a call is logged with.
const (
	outcomeOK          = "ok"
	outcomeInvalid     = "invalid_arguments"
	outcomeError       = "error"
	outcomeCancelled   = "cancelled"
	outcomePanic       = "panic"
	outcomeUnavailable = "not_configured"
	outcomeNotOffered  = "not_offered"
	// A call that asked the client for input, and one the user declined.
	outcomeInputRequired = "input_required"
	outcomeDeclined      = "declined"
)

// wrap turns h into an mcp-go handler that recovers panics, scrubs the
// result of every sensitive value, and logs one event for the call.
func (t *toolset) wrap(name string, h handlerFunc) server.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (result *mcp.CallToolResult, err error) {
		start := time.Now()
		var info togetherapi.CallInfo
		deps := t.deps(ctx)
		rec := &callRecord{outcome: outcomeOK, redact: deps.Redact, caller: deps.Caller}
		rec.keepArguments(req)
		info.OnRetry = func(ev togetherapi.RetryEvent) {
			// Logged as it happens; the call's own event comes at the end.
			// Every text field is scrubbed: the op's path holds an ID or
			// name, the reason a transport error's text.
			scrub := rec.scrubber()
			t.cfg.Logger.Info().Str("tool", name).Str("secret", scrub.Scrub(rec.secret)).Str("op", scrub.Scrub(ev.Op)).
				Int("attempt", ev.Attempt).Int("http_status", ev.StatusCode).Str("reason", scrub.Scrub(ev.Reason)).
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
			result = scrubResult(result, rec.scrubber(), rec.kept)
			t.logCall(name, rec, &info, time.Since(start), result)
		}()
		return h(ctx, req, rec), nil
	}
}

// keep marks strings as the caller's own, returned as sent.
func (rec *callRecord) keep(s ...string) {
	if rec.kept == nil {
		rec.kept = map[string]bool{}
	}
	for _, x := range s {
		if x != "" {
			rec.kept[x] = true
		}
	}
}

// keepArguments keeps every string argument the caller sent, and each
// string of an array argument, but the value, which goes into the call's
// scrub set before anything else can quote it (an error about another
// argument among them).
func (rec *callRecord) keepArguments(req mcp.CallToolRequest) {
	for k, v := range req.GetArguments() {
		if k == "value" {
			if s, ok := v.(string); ok && s != "" {
				rec.scrub = append(rec.scrub, togetherapi.NewSensitive(s))
			}
			continue
		}
		switch v := v.(type) {
		case string:
			rec.keep(v)
		case []any:
			for _, e := range v {
				if s, ok := e.(string); ok {
					rec.keep(s)
				}
			}
		}
	}
}

// scrubber is every sensitive string the call must never output: its own
// values and its Deps' ones, such as the API key.
func (rec *callRecord) scrubber() togetherapi.Scrubber {
	if len(rec.scrub) == 0 {
		return rec.redact
	}
	return append(append(togetherapi.Scrubber{}, rec.scrub...), rec.redact...)
}

// scrubResult removes the call's sensitive values and the configured ones
// from every text in r: a last line of defence behind the handlers' own care.
// Free text is scrubbed; structured content is metadata, whose string values
// are withheld whole where they carry a value (togetherapi's field rule),
// never torn, and whose keys are never touched, so the result keeps the
// shape and the usable IDs its output schema promises.
//
// Every structured result here comes from structuredResult, whose first
// text is the structured content's JSON: when that text holds nothing, no
// field carries anything, and nothing needs decoding again.
func scrubResult(r *mcp.CallToolResult, all togetherapi.Scrubber, kept map[string]bool) *mcp.CallToolResult {
	if r == nil || len(all) == 0 {
		return r
	}
	for i, c := range r.Content {
		tc, ok := c.(mcp.TextContent)
		if !ok || !all.Contained(tc.Text) {
			continue
		}
		if i == 0 && r.StructuredContent != nil {
			var v any
			if err := json.Unmarshal([]byte(tc.Text), &v); err != nil {
				return mcp.NewToolResultError("could not encode the result: " + err.Error())
			}
			r.StructuredContent = withholdStrings(v, "", all, kept)
			b, _ := json.Marshal(r.StructuredContent)
			tc.Text = string(b)
		} else {
			tc.Text = all.Scrub(tc.Text)
		}
		r.Content[i] = tc
	}
	return r
}

// withholdStrings replaces with [Redacted] every string value in a decoded
// JSON document that carries a sensitive string, but for the metadata fields
// whose shape cannot carry one and the strings the caller sent (kept). key
// is the value's key in its object.
func withholdStrings(v any, key string, s togetherapi.Scrubber, kept map[string]bool) any {
	switch v := v.(type) {
	case string:
		if !kept[v] && !togetherapi.IsShapedField(key, v) && s.Carries(v) {
			return togetherapi.Redacted
		}
	case map[string]any:
		for k, e := range v {
			v[k] = withholdStrings(e, k, s, kept)
		}
	case []any:
		for i, e := range v {
			v[i] = withholdStrings(e, "", s, kept)
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
		Int("requests", info.Requests).
		Int("attempts", info.Attempts).
		Dur("duration_ms", d)
	// Every text field is scrubbed: the name the caller gave may hold the
	// value, and the request id and resolution come from the API. The
	// request id has also been cut to its shape by togetherapi.
	scrub := rec.scrubber()
	if rec.secret != "" {
		ev = ev.Str("secret", scrub.Scrub(rec.secret))
	}
	if rec.file != "" {
		ev = ev.Str("file", rec.file)
	}
	if rec.caller != "" {
		ev = ev.Str("caller", rec.caller)
	}
	if info.RequestID != "" {
		ev = ev.Str("request_id", scrub.Scrub(info.RequestID))
	}
	if info.Resolution != "" {
		ev = ev.Str("resolution", scrub.Scrub(info.Resolution))
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
var idProperty = fmt.Sprintf(`{"type": "string", "minLength": 1, "maxLength": %d, "description": "The secret's ID or name."}`, maxIDLength)

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
