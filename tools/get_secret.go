package tools

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/mark3labs/mcp-go/mcp"
)

var getSecretSchema = json.RawMessage(`{
  "type": "object",
  "properties": {"id": ` + idProperty + `},
  "required": ["id"],
  "additionalProperties": false
}`)

var getSecretArgs = argNames(getSecretSchema)

// getSecretOutputSchema is a secret's metadata and where it is used.
var getSecretOutputSchema = json.RawMessage(string(secretItemSchema[:len(secretItemSchema)-2]) + ", " + usedBySchema + "}}")

func (t *toolset) getSecret() tool {
	return tool{def: define("get_secret", "Get Together secret",
		"Get a secret's metadata by ID or name, with used_by: the deployment variables that reference it. Never the value.",
		getSecretSchema, getSecretOutputSchema, hints{readOnly: true, idempotent: true}), handle: t.handleGetSecret, byDefault: true}
}

func (t *toolset) handleGetSecret(ctx context.Context, req mcp.CallToolRequest, rec *callRecord) *mcp.CallToolResult {
	id, err := parseID(req, getSecretArgs)
	if err != nil {
		return invalidArguments("get_secret", rec, err)
	}
	rec.secret = id
	secret, err := t.client(ctx).GetSecret(ctx, id)
	if err != nil {
		return t.apiFailure(ctx, rec, operation{what: fmt.Sprintf("get secret %q", id), oneSecret: true}, err)
	}
	deps, unknown := t.deployments(ctx)
	return structuredResult(withUsage(secret, deps, unknown))
}
