package tools

import (
	"context"
	"errors"
	"fmt"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/together-secrets-mcp/together-secrets-mcp/togetherapi"
)

// createSecretArgs mirror the API's CreateSecretRequest. The name pattern
// is the character set the API states in prose; unknown arguments are
// refused rather than silently dropped.
var createSecretArgs = params{
	{name: "name", typ: "string", minLen: 1, maxLen: togetherapi.NameMaxLength, pattern: togetherapi.NamePattern,
		desc: "e.g. HF_TOKEN or prod/openai-key", required: true},
	{name: "value", typ: "string", minLen: 1, maxLen: togetherapi.ValueMaxBytes, required: true},
	{name: "description", typ: "string", maxLen: togetherapi.DescriptionMaxLength},
	{name: "project_id", typ: "string", maxLen: maxProjectIDLen, desc: "Ignored."},
}

func (t *toolset) createSecret() tool {
	x := define("create_secret", "Create secret",
		"Store a new secret (API key, token, password) for Together deployments, if you hold its value; "+
			"else use request_secret_from_user. Returns metadata, never the value.",
		createSecretArgs, secretOutputSchema, hints{})
	x.handle, x.byDefault = t.handleCreateSecret, true
	return x
}

func (t *toolset) handleCreateSecret(ctx context.Context, deps Deps, req mcp.CallToolRequest, rec *callRecord) *mcp.CallToolResult {
	const name = "create_secret"
	create, err := parseCreateSecret(rec)
	if err != nil {
		return invalidArguments(name, rec, err)
	}
	rec.secret = create.Name
	e := t.entry(ctx, rec, name, "create", create.Name)
	if p := t.scopeProblem(create.Name); p != "" {
		return t.outOfScope(ctx, rec, e, "name", p)
	}

	var secret *togetherapi.Secret
	err = t.audited(ctx, rec, e, func() (string, error) {
		var err error
		secret, err = deps.Client.CreateSecret(ctx, create)
		return idOf(secret), err
	})
	if errors.Is(err, errAuditUnwritable) {
		return t.auditRefused(rec, fmt.Sprintf("create secret %q", create.Name))
	}
	if err != nil {
		if errors.Is(err, togetherapi.ErrAlreadyExists) && togetherapi.EffectOf(err) != togetherapi.MayHaveBeenMade {
			rec.outcome = outcomeError
			return mcp.NewToolResultError(fmt.Sprintf("A secret named %q already exists. Choose another name, or change the existing secret instead.", create.Name))
		}
		return t.apiFailure(ctx, rec, operation{what: fmt.Sprintf("create secret %q", create.Name), write: true}, err)
	}
	return secretResult(secret, create.Name)
}

// parseCreateSecret checks the arguments against createSecretArgs and the
// API's rules: the one check of the request, before anything is recorded
// or sent. The value is the one the call's scrub set holds.
func parseCreateSecret(rec *callRecord) (togetherapi.CreateSecretRequest, error) {
	var out togetherapi.CreateSecretRequest
	r := readArguments(rec, createSecretArgs)
	// A value that is not text is said last, after every rule that does
	// not read the value, so that no other error depends on it.
	var given bool
	var notText error
	out.Value, given, notText = r.sensitive()
	out.Name = r.str("name")
	switch {
	case !r.ok() || notText != nil || !out.Value.IsZero():
	case given:
		r.fail("value", "must not be empty")
	default:
		r.fail("value", "is required")
	}
	out.Description, _ = r.optStr("description")
	out.ProjectID, _ = r.optStr("project_id")
	r.maxLen("project_id", out.ProjectID, maxProjectIDLen)
	r.check(notText)
	if r.ok() {
		r.check(out.Validate())
	}
	return out, r.err()
}
