package tools

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/together-secrets-mcp/together-secrets-mcp/togetherapi"
)

var updateSecretArgs = params{
	secretParam("id", true),
	{name: "name", typ: "string", minLen: 1, maxLen: togetherapi.NameMaxLength, pattern: togetherapi.NamePattern, desc: "New name."},
	{name: "value", typ: "string", minLen: 1, maxLen: togetherapi.ValueMaxBytes},
	{name: "description", typ: "string", maxLen: togetherapi.DescriptionMaxLength, desc: `"" clears it.`},
	{name: "project_id", typ: "string", maxLen: maxProjectIDLen, desc: "Ignored."},
	evenIfUsedParam,
}

func (t *toolset) updateSecret() tool {
	args, desc := updateSecretArgs, "Rotate a secret's value, rename it or edit its description. A replaced value is gone for good; "+
		"a rename a deployment uses is refused unless even_if_used. Returns metadata, never a value."
	if t.cfg.Tools.ValuesFromUserOnly {
		// Offered without its value, which values-from-user-only's guard
		// then refuses as an argument the tool does not take.
		args, desc = updateSecretArgs.without("value"), "Rename a secret or edit its description; request_secret_from_user replaces a value. "+
			"A rename a deployment uses is refused unless even_if_used. Returns metadata, never a value."
	}
	x := define("update_secret", "Update secret", desc, args, secretOutputSchema, hints{destructive: true, idempotent: true})
	x.handle, x.byDefault = t.handleUpdateSecret, true
	return x
}

func (t *toolset) handleUpdateSecret(ctx context.Context, deps Deps, req mcp.CallToolRequest, rec *callRecord) *mcp.CallToolResult {
	const name = "update_secret"
	id, update, evenIfUsed, err := parseUpdate(rec)
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

// parseUpdate reads update_secret's arguments and checks the update by the
// API's rules: the one check of it, before anything is recorded or sent.
// The new value is the one the call's scrub set holds.
func parseUpdate(rec *callRecord) (id string, update togetherapi.UpdateSecretRequest, evenIfUsed bool, err error) {
	r := readArguments(rec, updateSecretArgs)
	id = r.secretID("id")
	v, given, notText := r.sensitive()
	r.check(notText)
	if given && v.IsZero() {
		r.fail("value", "must not be empty; leave it out to keep the value")
	}
	update.Value = v
	var ok bool
	if update.Name, ok = r.optStr("name"); ok && update.Name == "" {
		r.fail("name", "must not be empty; leave it out to keep the name")
	}
	if d, ok := r.optStr("description"); ok {
		update.Description = &d
	}
	update.ProjectID, _ = r.optStr("project_id")
	r.maxLen("project_id", update.ProjectID, maxProjectIDLen)
	evenIfUsed = r.optBool("even_if_used")
	switch {
	case !r.ok():
	case update.Name == "" && update.Value.IsZero() && update.Description == nil:
		r.fail("arguments", "change nothing: give at least one of name, value or description")
	default:
		r.check(update.Validate())
	}
	return id, update, evenIfUsed, r.err()
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
