package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

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

// updateSecretSchemaNoValue is update_secret's schema when values come only
// from the user.
var updateSecretSchemaNoValue = withoutProperty(updateSecretSchema, "value")

func (t *toolset) updateSecret() tool {
	schema, desc := updateSecretSchema, "Change a secret: rotate its value, rename it, or edit its description (at least one). "+
		"Replacing a value cannot be undone. A rename is refused while a deployment uses the name, unless even_if_used."
	if t.cfg.Tools.ValuesFromUserOnly {
		schema, desc = updateSecretSchemaNoValue, "Rename a secret or edit its description. Values come only from the user here: "+
			"request_secret_from_user replaces one. A rename is refused while a deployment uses the name, unless even_if_used."
	}
	return tool{def: define("update_secret", "Update Together secret", desc,
		schema, secretOutputSchema, hints{destructive: true, idempotent: true}), handle: t.handleUpdateSecret, byDefault: true}
}

func (t *toolset) handleUpdateSecret(ctx context.Context, deps Deps, req mcp.CallToolRequest, rec *callRecord) *mcp.CallToolResult {
	const name = "update_secret"
	id, update, evenIfUsed, err := parseUpdate(req, rec)
	if err != nil {
		return invalidArguments(name, rec, err)
	}
	rec.secret = id
	op := operation{what: fmt.Sprintf("update secret %q", id), write: true, oneSecret: true}
	e := t.entry(ctx, rec, name, updateAction(update), id)
	e.NewName = update.Name
	if p := t.scopeProblem(update.Name); update.Name != "" && p != "" {
		return t.outOfScope(ctx, rec, e, "name, the new name,", p)
	}
	var secret *togetherapi.Secret
	if update.Name == "" && len(t.cfg.NamePrefixes) == 0 {
		// Nothing to check first: the client looks the secret up itself.
		err = t.audited(ctx, rec, e, func() (string, error) {
			var err error
			secret, err = deps.Client.UpdateSecret(ctx, id, update)
			return idOf(secret), err
		})
	} else {
		current, refused := t.lookupInScope(ctx, deps.Client, rec, e, id, op)
		if refused != nil {
			return refused
		}
		e.Secret, e.SecretID = current.Name, current.ID
		if update.Name != "" && current.Name != update.Name {
			byName := func(u use) bool { return u.By == "name" }
			if _, refusal := t.usageCheck(ctx, deps.Client, current, evenIfUsed, byName, fmt.Sprintf("rename secret %q", id)); refusal != "" {
				rec.outcome = outcomeRefused
				return mcp.NewToolResultError(refusal + fmt.Sprintf(
					" Re-point those variables by ID first (%s: a reference by ID survives a rename), then rename; or pass even_if_used: true to rename anyway.", t.repointHint()))
			}
		}
		err = t.audited(ctx, rec, e, func() (string, error) {
			var err error
			secret, err = deps.Client.UpdateSecretOf(ctx, current, update)
			return current.ID, err
		})
	}
	if errors.Is(err, errAuditUnwritable) {
		return t.auditRefused(rec, op.what)
	}
	if err != nil {
		return t.apiFailure(ctx, rec, op, err)
	}
	return secretResult(secret, "")
}

// parseUpdate reads update_secret's arguments. The new value joins the
// call's scrub set as soon as it is read.
func parseUpdate(req mcp.CallToolRequest, rec *callRecord) (id string, update togetherapi.UpdateSecretRequest, evenIfUsed bool, err error) {
	id, err = parseID(req, updateSecretArgs, func(args arguments) error {
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
	return id, update, evenIfUsed, err
}

// updateAction names an update for the audit trail: what it changes.
func updateAction(u togetherapi.UpdateSecretRequest) string {
	var parts []string
	if u.Name != "" {
		parts = append(parts, "rename")
	}
	if !u.Value.IsZero() {
		parts = append(parts, "rotate")
	}
	if u.Description != nil {
		parts = append(parts, "describe")
	}
	return strings.Join(parts, "+")
}
