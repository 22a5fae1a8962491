package tools

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/together-secrets-mcp/together-secrets-mcp/togetherapi"
)

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

// secretItemSchema describes one secret's metadata: the fields of the API's
// SecretResponseItem, which has no value field, that an agent acts on. The
// others (object, created_by, last_updated_by) come back too, undeclared:
// every tool definition costs the agent context on every turn.
var secretItemSchema = json.RawMessage(`{"type": "object", "properties": {` +
	`"id": {"type": "string"}, "name": {"type": "string"}, "description": {"type": "string"}, ` +
	`"created_at": {"type": "string"}, "updated_at": {"type": "string"}}}`)

// secretOutputSchema is the output schema of a tool returning one secret.
var secretOutputSchema = secretItemSchema

// secretParam declares an argument that names a secret by ID or name.
func secretParam(name string, required bool) param {
	return param{name: name, typ: "string", minLen: 1, maxLen: maxIDLength, desc: "Secret ID or name.", required: required}
}

// hints are how a tool behaves, as MCP clients read its annotations.
type hints struct {
	readOnly, destructive, idempotent bool
}

// define builds a tool's definition: its name, title and what it tells the
// model, its arguments (from which its input schema derives) and output
// schema, and all four behaviour hints, set explicitly, since an unset hint
// is read by clients as the most pessimistic one. The caller adds the
// handler and when the tool is offered.
func define(name, title, description string, args params, output json.RawMessage, h hints) tool {
	t := mcp.NewToolWithRawSchema(name, description, args.schema())
	t.RawOutputSchema = output
	// The title goes in the annotations alone, where every client version
	// reads it; the newer top-level title would repeat it.
	t.Annotations = mcp.ToolAnnotation{
		Title:           title,
		ReadOnlyHint:    mcp.ToBoolPtr(h.readOnly),
		DestructiveHint: mcp.ToBoolPtr(h.destructive),
		IdempotentHint:  mcp.ToBoolPtr(h.idempotent),
		OpenWorldHint:   mcp.ToBoolPtr(true),
	}
	return tool{def: t, args: args}
}

// isCancelled reports whether err came from the caller giving up.
func isCancelled(ctx context.Context, err error) bool {
	return errors.Is(err, context.Canceled) && ctx.Err() != nil
}
