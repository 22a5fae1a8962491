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
    "value": {"type": "string", "minLength": 1, "maxLength": %d, "description": "New value; replaces the old one."},
    "description": {"type": "string", "maxLength": %d, "description": "New description; \"\" clears it."},
    "project_id": {"type": "string", "maxLength": %d, "description": "Ignored."}
  },
  "required": ["id"],
  "additionalProperties": false
}`, idProperty, togetherapi.NameMaxLength, togetherapi.NamePattern, togetherapi.ValueMaxBytes, togetherapi.DescriptionMaxLength, maxProjectIDLen))

var updateSecretArgs = argNames(updateSecretSchema)

func (t *toolset) updateSecret() tool {
	return tool{def: define("update_secret", "Update Together secret",
		"Change a secret: rotate its value, rename it, or edit its description (at least one). "+
			"Replacing a value cannot be undone. Returns the new metadata; never a value.",
		updateSecretSchema, secretOutputSchema, hints{destructive: true, idempotent: true}), handle: t.handleUpdateSecret, byDefault: true}
}

func (t *toolset) handleUpdateSecret(ctx context.Context, req mcp.CallToolRequest, rec *callRecord) *mcp.CallToolResult {
	const name = "update_secret"
	var update togetherapi.UpdateSecretRequest
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
		return update.Validate()
	})
	if err != nil {
		return invalidArguments(name, rec, err)
	}
	rec.secret = id
	secret, err := t.client(ctx).UpdateSecret(ctx, id, update)
	if err != nil {
		return t.apiFailure(ctx, rec, operation{what: fmt.Sprintf("update secret %q", id), write: true, oneSecret: true}, err)
	}
	return secretResult(secret, "")
}
