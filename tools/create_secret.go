package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/together-secrets-mcp/together-secrets-mcp/togetherapi"
)

// createSecretSchema mirrors the API's CreateSecretRequest. The name pattern
// is the character set the API states in prose; unknown properties are
// refused rather than silently dropped.
var createSecretSchema = json.RawMessage(fmt.Sprintf(`{
  "type": "object",
  "properties": {
    "name": {
      "type": "string", "minLength": 1, "maxLength": %d, "pattern": %q,
      "description": "Unique name, e.g. HF_TOKEN or prod/openai-key. Letters, digits, _ - / . only."
    },
    "value": {
      "type": "string", "minLength": 1, "maxLength": %d,
      "description": "The secret itself, at most 64 KiB. Never returned or logged."
    },
    "description": {
      "type": "string", "maxLength": %d,
      "description": "Optional: what the secret is for."
    },
    "project_id": {
      "type": "string", "maxLength": %d,
      "description": "Ignored: the key sets the project."
    }
  },
  "required": ["name", "value"],
  "additionalProperties": false
}`, togetherapi.NameMaxLength, togetherapi.NamePattern, togetherapi.ValueMaxBytes, togetherapi.DescriptionMaxLength, maxProjectIDLen))

var createSecretArgs = argNames(createSecretSchema)

func (t *toolset) createSecret() tool {
	return tool{def: define("create_secret", "Create Together secret",
		"Store a new secret (API key, password, token) in the Together AI account for deployments to use. "+
			"Returns its metadata, never the value. Fails if the name is taken.",
		createSecretSchema, secretOutputSchema, hints{}), handle: t.handleCreateSecret, byDefault: true}
}

func (t *toolset) handleCreateSecret(ctx context.Context, deps Deps, req mcp.CallToolRequest, rec *callRecord) *mcp.CallToolResult {
	const name = "create_secret"
	create, err := parseCreateSecret(req)
	// Scrub the value from whatever follows, including a failed parse's
	// message, should a future change ever let one quote it.
	rec.scrub = append(rec.scrub, create.Value)
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
		var unknown *togetherapi.OutcomeUnknownError
		if errors.Is(err, togetherapi.ErrAlreadyExists) && !errors.As(err, &unknown) {
			rec.outcome = outcomeError
			return mcp.NewToolResultError(fmt.Sprintf("A secret named %q already exists. Choose another name, or change the existing secret instead.", create.Name))
		}
		return t.apiFailure(ctx, rec, operation{what: fmt.Sprintf("create secret %q", create.Name), write: true}, err)
	}
	return secretResult(secret, create.Name)
}

// parseCreateSecret checks the arguments against createSecretSchema and the
// API's rules. It returns what it could read even on error, so the caller
// can scrub a value it may never echo.
func parseCreateSecret(req mcp.CallToolRequest) (togetherapi.CreateSecretRequest, error) {
	var out togetherapi.CreateSecretRequest
	args, err := parseArguments(req, createSecretArgs)
	if err != nil {
		return out, err
	}
	// A value that is not text is said last, after every rule that does
	// not read the value, so that no other error depends on it.
	v, ok, notText := args.optionalString("value")
	switch {
	case notText != nil && !errors.Is(notText, errNotText):
		return out, notText
	case ok:
		out.Value = togetherapi.NewSensitive(v)
	}
	if out.Name, err = args.requiredString("name"); err != nil {
		return out, err
	}
	if out.Value.IsZero() && notText == nil {
		if _, ok := args["value"]; ok && string(args["value"]) != "null" {
			return out, &argError{Field: "value", Problem: "must not be empty"}
		}
		return out, &argError{Field: "value", Problem: "is required"}
	}
	if out.Description, _, err = args.optionalString("description"); err != nil {
		return out, err
	}
	if out.ProjectID, _, err = args.optionalString("project_id"); err != nil {
		return out, err
	}
	if err := checkLength("project_id", out.ProjectID, maxProjectIDLen); err != nil {
		return out, err
	}
	if notText != nil {
		return out, notText
	}
	return out, out.Validate()
}
