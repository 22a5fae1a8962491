package tools

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/together-secrets-mcp/together-secrets-mcp/togetherapi"
)

var listSecretsSchema = json.RawMessage(fmt.Sprintf(`{
  "type": "object",
  "properties": {
    "name_prefix": {"type": "string", "maxLength": %d, "description": "Only names starting with this, e.g. prod/."}
  },
  "additionalProperties": false
}`, togetherapi.NameMaxLength))

var listSecretsArgs = argNames(listSecretsSchema)

var listSecretsOutputSchema = json.RawMessage(`{
  "type": "object",
  "properties": {
    "secrets": {"type": "array", "items": ` + string(secretItemSchema) + `},
    "count": {"type": "integer"}
  },
  "required": ["secrets", "count"]
}`)

func (t *toolset) listSecrets() tool {
	def := mcp.NewToolWithRawSchema("list_secrets",
		"List the secrets in the Together AI account: metadata only, never values. Use it to check whether a name is taken.",
		listSecretsSchema)
	def.RawOutputSchema = listSecretsOutputSchema
	def = annotate(def, "List Together secrets", true, false, true)
	return tool{def: def, handle: t.handleListSecrets, byDefault: true}
}

// secretList is list_secrets' structured result.
type secretList struct {
	Secrets []togetherapi.Secret `json:"secrets"`
	Count   int                  `json:"count"`
}

func (t *toolset) handleListSecrets(ctx context.Context, req mcp.CallToolRequest, rec *callRecord) *mcp.CallToolResult {
	args, err := parseArguments(req, listSecretsArgs)
	if err != nil {
		return invalidArguments("list_secrets", rec, err)
	}
	prefix, _, err := args.optionalString("name_prefix")
	if err == nil {
		err = checkLength("name_prefix", prefix, togetherapi.NameMaxLength)
	}
	if err != nil {
		return invalidArguments("list_secrets", rec, err)
	}
	all, err := t.client(ctx).ListSecrets(ctx)
	if err != nil {
		return t.apiFailure(ctx, rec, operation{what: "list secrets"}, err)
	}
	out := secretList{Secrets: make([]togetherapi.Secret, 0, len(all))}
	for _, s := range all {
		if strings.HasPrefix(s.Name, prefix) {
			out.Secrets = append(out.Secrets, s)
		}
	}
	out.Count = len(out.Secrets)
	return structuredResult(out)
}
