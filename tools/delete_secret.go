package tools

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/together-secrets-mcp/together-secrets-mcp/togetherapi"
)

var (
	deleteSecretSchema = getSecretSchema
	deleteSecretArgs   = argNames(deleteSecretSchema)
)

var deleteSecretOutputSchema = json.RawMessage(`{
  "type": "object",
  "properties": {
    "deleted": {"type": "boolean"},
    "secret": ` + string(secretItemSchema) + `
  },
  "required": ["deleted", "secret"]
}`)

func (t *toolset) deleteSecret() tool {
	return tool{def: define("delete_secret", "Delete Together secret",
		"Delete a secret by ID or name. A deployment that uses it will break. Cannot be undone.",
		deleteSecretSchema, deleteSecretOutputSchema, hints{destructive: true, idempotent: true}), handle: t.handleDeleteSecret}
}

// deletion is delete_secret's structured result.
type deletion struct {
	Deleted bool               `json:"deleted"`
	Secret  togetherapi.Secret `json:"secret"`
}

func (t *toolset) handleDeleteSecret(ctx context.Context, req mcp.CallToolRequest, rec *callRecord) *mcp.CallToolResult {
	id, err := parseID(req, deleteSecretArgs)
	if err != nil {
		return invalidArguments("delete_secret", rec, err)
	}
	rec.secret = id
	secret, err := t.client(ctx).DeleteSecret(ctx, id)
	if err != nil {
		return t.apiFailure(ctx, rec, operation{what: fmt.Sprintf("delete secret %q", id), write: true, oneSecret: true}, err)
	}
	out := deletion{Deleted: true, Secret: *secret}
	return structuredResult(out)
}
