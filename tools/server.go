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
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/rs/zerolog"

	"github.com/together-secrets-mcp/together-secrets-mcp/intake"
	"github.com/together-secrets-mcp/together-secrets-mcp/internal/audit"
	"github.com/together-secrets-mcp/together-secrets-mcp/internal/envfile"
	"github.com/together-secrets-mcp/together-secrets-mcp/togetherapi"
)

// ServerName is the name the server gives itself in MCP.
const ServerName = "together-secrets-mcp"

// Config is what the tools need from the program.
type Config struct {
	// Version is reported to MCP clients.
	Version string
	// Sandbox says the client is backed by the in-memory sandbox, so the
	// server's instructions can say that nothing reaches Together.
	Sandbox bool
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
	// Intake serves the one-time pages of request_secret_from_user over
	// stdio; nil in HTTP mode.
	Intake *intake.Server
	// Team serves them in HTTP mode, on any replica (NewTeamPage makes
	// it); nil over stdio, and where no public URL is set.
	Team *intake.Team
	// TeamWait is how long a 2026-07-28 client's retry of
	// request_secret_from_user waits for the value to arrive over HTTP;
	// DefaultTeamWait when zero.
	TeamWait time.Duration
	// CheckOutputs validates every result against its tool's output schema
	// and turns a mismatch into a tool error. The tests turn it on; it costs
	// some 65 allocations a call, so the server leaves it off.
	CheckOutputs bool
	// NamePrefixes, when set, are the only names the tools act on: lists
	// show only these, and any other is refused before anything is sent.
	NamePrefixes []string
	// Audit, when set, records every attempted change before it is sent;
	// a change whose line cannot be written is refused.
	Audit *audit.Log
}

const instructions = "Stores secrets (API keys, passwords, tokens) in the user's Together AI account for use by Together deployments. " +
	"Values go to Together only; tools return metadata, never a value."

const sandboxInstructions = "SANDBOX MODE: secrets are kept in this process's memory and never reach Together; they vanish when the server stops. " +
	"Otherwise the tools behave as they do against Together: values are accepted, metadata is returned, a value never is."

// unknownTool is where a call naming no tool of this server is sent: a
// name that no client is offered, nor could take for a tool's.
const unknownTool = "(unknown tool)"

// NewServer returns an MCP server offering the selected tools, wired to cfg.
//
// Every tool is registered, but those not selected are hidden from
// tools/list and answer a call with an error naming the setting that offers
// them, rather than mcp-go's bare "tool not found"; a call naming no tool
// at all is answered with the tools offered.
func NewServer(cfg Config) (*server.MCPServer, error) {
	names, err := cfg.Tools.Resolve()
	if err != nil {
		return nil, err
	}
	text := instructions
	if cfg.Sandbox {
		text = sandboxInstructions
	}
	text += cfg.rulesText()
	// mcp-go answers an unknown name with its bare "tool not found" before
	// any handler runs; before that, this hook sends the call to one that
	// says what the server offers.
	hooks := &server.Hooks{}
	hooks.AddBeforeCallTool(func(_ context.Context, _ any, req *mcp.CallToolRequest) {
		if !slices.Contains(AllTools, req.Params.Name) {
			req.Params.Name = unknownTool
		}
	})
	opts := []server.ServerOption{
		server.WithHooks(hooks),
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
	t := &toolset{cfg: cfg, advice: cfg.Advice.withDefaults(), offered: names}
	for _, x := range t.all() {
		if !slices.Contains(names, x.def.Name) {
			// Its answer says how to offer it, and needs no client.
			s.AddTool(x.def, t.wrap(x.def.Name, t.notOffered(x.def.Name), false))
			continue
		}
		h := x.handle
		if cfg.Tools.ValuesFromUserOnly {
			h = t.takesNoValue(x.def.Name, x.args.names(), h)
		}
		s.AddTool(x.def, t.wrap(x.def.Name, h, true))
	}
	s.AddTool(mcp.NewToolWithRawSchema(unknownTool, "Answers a call that names no tool of this server.", []byte(`{"type":"object"}`)),
		t.wrap(unknownTool, t.noSuchTool, false))
	return s, nil
}

// noSuchTool answers a call naming no tool of this server with the tools it
// offers. It does not repeat the name called: every such name gets the same
// answer. Under values-from-user-only, arguments sent with it are recorded
// as every tool records those it does not take: a misspelt name must not
// keep a value sent in the chat out of the audit trail.
func (t *toolset) noSuchTool(ctx context.Context, _ Deps, _ mcp.CallToolRequest, rec *callRecord) *mcp.CallToolResult {
	rec.outcome = outcomeNotOffered
	if t.cfg.Tools.ValuesFromUserOnly && len(rec.args) > 0 {
		rec.outcome = outcomeRefusedByPolicy
		e := t.entry(ctx, rec, unknownTool, "refused", secretNamed(rec.args, rec.scrubber()))
		t.auditRefusal(ctx, rec, e, "arguments sent to a tool that does not exist, which may carry a value")
	}
	return mcp.NewToolResultError(fmt.Sprintf("This server has no tool of that name. The tools it offers are %s (tools/list describes each); call one of them. Nothing was sent to Together.",
		strings.Join(t.offered, ", ")))
}

// toolset holds what every handler shares.
type toolset struct {
	cfg    Config
	advice Advice
	// offered are the names of the tools this server offers.
	offered []string
}

// Deps are what one tool call takes from outside: the client that talks to
// Together with the caller's key (which no output of the call may hold).
// Every transport puts them into the context of each call with WithDeps:
// stdio the one client with the operator's key, HTTP a client with each
// request's own. The call wrapper reads them once and hands them to the
// tool's handler.
type Deps struct {
	Client *togetherapi.Client
	// Caller tells callers apart in the logs, such as a fingerprint of
	// their key; never the key.
	Caller string
}

type depsKey struct{}

// WithDeps returns a context whose tool calls use d.
func WithDeps(ctx context.Context, d Deps) context.Context {
	return context.WithValue(ctx, depsKey{}, d)
}

// DepsFrom returns the Deps of ctx: zero when it carries none.
func DepsFrom(ctx context.Context) Deps {
	d, _ := ctx.Value(depsKey{}).(Deps)
	return d
}
