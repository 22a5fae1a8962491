package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/together-secrets-mcp/together-secrets-mcp/internal/audit"
	"github.com/together-secrets-mcp/together-secrets-mcp/togetherapi"
)

var getSecretArgs = params{secretParam("id", true)}

// getSecretOutputSchema is a secret's metadata and where it is used.
var getSecretOutputSchema = json.RawMessage(string(secretItemSchema[:len(secretItemSchema)-2]) + ", " + usedBySchema + "}}")

func (t *toolset) getSecret() tool {
	x := define("get_secret", "Get secret",
		"A secret's metadata and used_by (the deployment variables using it), e.g. before changing it. Never the value.",
		getSecretArgs, getSecretOutputSchema, hints{readOnly: true, idempotent: true})
	x.handle, x.byDefault = t.handleGetSecret, true
	return x
}

func (t *toolset) handleGetSecret(ctx context.Context, deps Deps, req mcp.CallToolRequest, rec *callRecord) *mcp.CallToolResult {
	r := readArguments(rec, getSecretArgs)
	id := r.secretID("id")
	if err := r.err(); err != nil {
		return invalidArguments("get_secret", rec, err)
	}
	rec.secret = id
	op := operation{what: fmt.Sprintf("get secret %q", id), oneSecret: true}
	secret, err := deps.Client.GetSecret(ctx, id)
	switch {
	case err != nil && len(t.cfg.NamePrefixes) > 0 && errors.Is(err, togetherapi.ErrNotFound):
		return t.noSuchSecretInScope(rec, op.what)
	case err != nil:
		return t.apiFailure(ctx, rec, op, err)
	case !t.inScope(secret.Name):
		return t.notFoundInScope(ctx, rec, audit.Entry{}, op.what)
	}
	used, unknown := t.deployments(ctx, deps.Client)
	return structuredResult(withUsage(secret, used, unknown))
}
