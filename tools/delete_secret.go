package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/together-secrets-mcp/together-secrets-mcp/togetherapi"
)

var deleteSecretArgs = params{secretParam("id", true), evenIfUsedParam}

var deleteSecretOutputSchema = json.RawMessage(`{
  "type": "object",
  "properties": {
    "deleted": {"type": "boolean"},
    "secret": ` + string(getSecretOutputSchema) + `
  },
  "required": ["deleted", "secret"]
}`)

func (t *toolset) deleteSecret() tool {
	x := define("delete_secret", "Delete secret",
		"Delete a secret for good. Refused while a deployment uses it, unless even_if_used. Returns metadata, never the value.",
		deleteSecretArgs, deleteSecretOutputSchema, hints{destructive: true, idempotent: true})
	x.handle = t.handleDeleteSecret
	return x
}

// deletion is delete_secret's structured result.
type deletion struct {
	Deleted bool   `json:"deleted"`
	Secret  usedBy `json:"secret"`
}

func (t *toolset) handleDeleteSecret(ctx context.Context, deps Deps, req mcp.CallToolRequest, rec *callRecord) *mcp.CallToolResult {
	r := readArguments(rec, deleteSecretArgs)
	id := r.secretID("id")
	evenIfUsed := r.optBool("even_if_used")
	if err := r.err(); err != nil {
		return invalidArguments("delete_secret", rec, err)
	}
	rec.secret = id
	op := operation{what: fmt.Sprintf("delete secret %q", id), write: true, oneSecret: true}
	e := t.entry(ctx, rec, "delete_secret", "delete", id)
	current, refused := t.lookupInScope(ctx, deps.Client, rec, e, id, op)
	if refused != nil {
		return refused
	}
	e.Secret, e.SecretID = current.Name, current.ID
	uses, refusal := t.usageCheck(ctx, deps.Client, current, evenIfUsed, func(use) bool { return true }, op.what)
	if refusal != "" {
		rec.outcome = outcomeRefused
		return mcp.NewToolResultError(refusal + fmt.Sprintf(" Point those variables at another secret, or remove them (with %s), then delete it; or pass even_if_used: true to delete it anyway.", t.repointHint()))
	}
	var secret *togetherapi.Secret
	err := t.audited(ctx, rec, e, func() (string, error) {
		var err error
		secret, err = deps.Client.DeleteSecretOf(ctx, current)
		return current.ID, err
	})
	if errors.Is(err, errAuditUnwritable) {
		return t.auditRefused(rec, op.what)
	}
	if err != nil {
		return t.apiFailure(ctx, rec, op, err)
	}
	out := deletion{Deleted: true, Secret: usedBy{Secret: *secret}}
	if uses != nil {
		out.Secret.UsedBy = &uses
	}
	res := structuredResult(out)
	if len(uses) > 0 {
		res.Content = append(res.Content, mcp.NewTextContent("Deleted although in use: these now break: "+describeUses(uses)+"."))
	}
	return res
}
