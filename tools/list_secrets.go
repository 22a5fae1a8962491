package tools

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/together-secrets-mcp/together-secrets-mcp/togetherapi"
)

// maxListed bounds the secrets one result holds, so that a large account
// cannot flood the agent's context; a name_prefix narrows the rest.
const maxListed = 200

var listSecretsArgs = params{
	{name: "name_prefix", typ: "string", maxLen: togetherapi.NameMaxLength, desc: "e.g. prod/"},
	{name: "include_usage", typ: "boolean", desc: "Add used_by to each."},
}

var listSecretsOutputSchema = json.RawMessage(`{
  "type": "object",
  "properties": {
    "secrets": {"type": "array", "items": ` + string(secretItemSchema[:len(secretItemSchema)-2]) + ", " + usedBySchema + `}}},
    "count": {"type": "integer"},
    "usage_unknown": {"type": "string"},
    "total": {"type": "integer"},
    "truncated": {"type": "boolean"}
  },
  "required": ["secrets", "count"]
}`)

func (t *toolset) listSecrets() tool {
	x := define("list_secrets", "List secrets",
		"List the account's secrets: metadata, never values. Use it to find a secret or check a name is free.",
		listSecretsArgs, listSecretsOutputSchema, hints{readOnly: true, idempotent: true})
	x.handle, x.byDefault = t.handleListSecrets, true
	return x
}

// secretList is list_secrets' structured result: Count secrets listed, of
// Total matching; Truncated when Total is more than one result holds.
type secretList struct {
	Secrets      []usedBy `json:"secrets"`
	Count        int      `json:"count"`
	Total        int      `json:"total,omitempty"`
	Truncated    bool     `json:"truncated,omitempty"`
	UsageUnknown string   `json:"usage_unknown,omitempty"`
}

func (t *toolset) handleListSecrets(ctx context.Context, deps Deps, req mcp.CallToolRequest, rec *callRecord) *mcp.CallToolResult {
	r := readArguments(rec, listSecretsArgs)
	prefix, _ := r.optStr("name_prefix")
	r.maxLen("name_prefix", prefix, togetherapi.NameMaxLength)
	usage := r.optBool("include_usage")
	if err := r.err(); err != nil {
		return invalidArguments("list_secrets", rec, err)
	}
	all, err := deps.Client.ListSecrets(ctx)
	if err != nil {
		return t.apiFailure(ctx, rec, operation{what: "list secrets"}, err)
	}
	out := secretList{Secrets: make([]usedBy, 0, min(len(all), maxListed))}
	var used []togetherapi.Deployment
	if usage {
		// One read of the deployments for the whole list.
		used, out.UsageUnknown = t.deployments(ctx, deps.Client)
	}
	total := 0
	for i := range all {
		if strings.HasPrefix(all[i].Name, prefix) && t.inScope(all[i].Name) {
			total++
			if len(out.Secrets) < maxListed {
				s := usedBy{Secret: all[i]}
				if usage && out.UsageUnknown == "" {
					s = withUsage(&all[i], used, "")
				}
				out.Secrets = append(out.Secrets, s)
			}
		}
	}
	out.Count = len(out.Secrets)
	if total > out.Count {
		out.Total, out.Truncated = total, true
		res := structuredResult(out)
		res.Content = append(res.Content, mcp.NewTextContent(fmt.Sprintf(
			"Listed %d of %d secrets. Narrow the list with name_prefix, or use get_secret with a name.", out.Count, total)))
		return res
	}
	return structuredResult(out)
}
