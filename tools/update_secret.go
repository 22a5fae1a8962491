package tools

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/together-secrets-mcp/together-secrets-mcp/togetherapi"
)

var updateSecretSchema = json.RawMessage(fmt.Sprintf(`{
  "type": "object",
  "properties": {
    "id": %s,
    "name": {"type": "string", "minLength": 1, "maxLength": %d, "pattern": %q, "description": "New name."},
    "value": {"type": "string", "minLength": 1, "maxLength": %d, "description": "New value."},
    "description": {"type": "string", "maxLength": %d, "description": "New description; \"\" clears it."},
    "project_id": {"type": "string", "maxLength": %d, "description": "Ignored."},
    "even_if_used": %s
  },
  "required": ["id"],
  "additionalProperties": false
}`, idProperty, togetherapi.NameMaxLength, togetherapi.NamePattern, togetherapi.ValueMaxBytes, togetherapi.DescriptionMaxLength, maxProjectIDLen, evenIfUsedProperty))

var updateSecretArgs = argNames(updateSecretSchema)

func (t *toolset) updateSecret() tool {
	return tool{def: define("update_secret", "Update Together secret",
		"Change a secret: rotate its value, rename it, or edit its description (at least one). "+
			"Replacing a value cannot be undone. A rename is refused while a deployment uses the name, unless even_if_used.",
		updateSecretSchema, secretOutputSchema, hints{destructive: true, idempotent: true}), handle: t.handleUpdateSecret, byDefault: true}
}

func (t *toolset) handleUpdateSecret(ctx context.Context, req mcp.CallToolRequest, rec *callRecord) *mcp.CallToolResult {
	const name = "update_secret"
	var (
		update     togetherapi.UpdateSecretRequest
		evenIfUsed bool
	)
	id, err := parseID(req, updateSecretArgs, func(args arguments) error {
		v, ok, err := args.optionalString("value")
		if err != nil {
			return err
		}
		if ok {
			if v == "" {
				return &argError{Field: "value", Problem: "must not be empty; leave it out to keep the value"}
			}
			update.Value = togetherapi.NewSensitive(v)
			rec.scrub = append(rec.scrub, update.Value)
		}
		if update.Name, ok, err = args.optionalString("name"); err != nil {
			return err
		} else if ok && update.Name == "" {
			return &argError{Field: "name", Problem: "must not be empty; leave it out to keep the name"}
		}
		if d, ok, err := args.optionalString("description"); err != nil {
			return err
		} else if ok {
			update.Description = &d
		}
		update.ProjectID, _, err = args.optionalString("project_id")
		if err != nil {
			return err
		}
		if err := checkLength("project_id", update.ProjectID, maxProjectIDLen); err != nil {
			return err
		}
		if evenIfUsed, err = args.optionalBool("even_if_used"); err != nil {
			return err
		}
		return update.Validate()
	})
	if err != nil {
		return invalidArguments(name, rec, err)
	}
	rec.secret = id
	op := operation{what: fmt.Sprintf("update secret %q", id), write: true, oneSecret: true}
	if update.Name == "" {
		secret, err := t.client(ctx).UpdateSecret(ctx, id, update)
		if err != nil {
			return t.apiFailure(ctx, rec, op, err)
		}
		return secretResult(secret, "")
	}
	return t.rename(ctx, rec, id, update, evenIfUsed, op)
}

// rename sends an update that renames the secret, unless a deployment
// references it by name, which the rename would break.
func (t *toolset) rename(ctx context.Context, rec *callRecord, id string, update togetherapi.UpdateSecretRequest, evenIfUsed bool, op operation) *mcp.CallToolResult {
	current, err := t.client(ctx).GetSecret(ctx, id)
	if err != nil {
		return t.apiFailure(ctx, rec, op, &togetherapi.LookupError{Err: err})
	}
	if current.Name != update.Name {
		byName := func(u use) bool { return u.By == "name" }
		if _, refusal := t.usageCheck(ctx, current, evenIfUsed, byName, fmt.Sprintf("rename secret %q", id)); refusal != "" {
			rec.outcome = outcomeRefused
			return mcp.NewToolResultError(refusal + fmt.Sprintf(
				" Re-point those variables by ID first (%s: a reference by ID survives a rename), then rename; or pass even_if_used: true to rename anyway.", t.repointHint()))
		}
	}
	secret, err := t.client(ctx).UpdateSecretOf(ctx, current, update)
	if err != nil {
		return t.apiFailure(ctx, rec, op, err)
	}
	return secretResult(secret, "")
}
