package tools

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/together-secrets-mcp/together-secrets-mcp/togetherapi"
)

// use is one variable of one deployment that takes its value from a secret.
type use struct {
	Deployment   string `json:"deployment"`
	DeploymentID string `json:"deployment_id"`
	Variable     string `json:"variable"`
	// By is "id" or "name": how the variable names the secret. A rename
	// breaks a reference by name; a delete breaks both.
	By string `json:"by"`
}

// usedBy is a secret's metadata with where it is used: UsedBy lists every
// reference, empty when there is none, and is left out when the
// deployments could not be read, with UsageUnknown saying why.
type usedBy struct {
	togetherapi.Secret
	UsedBy       *[]use `json:"used_by,omitempty"`
	UsageUnknown string `json:"usage_unknown,omitempty"`
}

// usedBySchema declares what usedBy adds to a secret's metadata.
const usedBySchema = `"used_by": {"type": "array"}, "usage_unknown": {"type": "string"}`

// usesOf returns the variables of deps that reference s, by its ID or by
// its name.
func usesOf(deps []togetherapi.Deployment, s *togetherapi.Secret) []use {
	out := []use{}
	for i := range deps {
		for _, v := range deps[i].Variables {
			var by string
			switch v.ValueFromSecret {
			case "": // a plain value
				continue
			case s.ID:
				by = "id"
			case s.Name:
				by = "name"
			default:
				continue
			}
			out = append(out, use{Deployment: deps[i].Name, DeploymentID: deps[i].ID, Variable: v.Name, By: by})
		}
	}
	return out
}

// deployments reads every deployment through c, for where secrets are used.
// When the read fails it returns why, in a sentence for the agent, and no
// list.
func (t *toolset) deployments(ctx context.Context, c *togetherapi.Client) ([]togetherapi.Deployment, string) {
	deps, err := c.ListDeployments(ctx)
	if err != nil {
		_, msg := t.describeFailure(ctx, operation{what: "read the deployments, so where secrets are used is unknown"}, err)
		return nil, msg
	}
	return deps, ""
}

// withUsage is s with where it is used, read from deps, or the reason
// that is unknown.
func withUsage(s *togetherapi.Secret, deps []togetherapi.Deployment, unknown string) usedBy {
	out := usedBy{Secret: *s, UsageUnknown: unknown}
	if unknown == "" {
		uses := usesOf(deps, s)
		out.UsedBy = &uses
	}
	return out
}

// describeUses says, in a sentence fragment, which variables of which
// deployments reference a secret.
func describeUses(uses []use) string {
	parts := make([]string, len(uses))
	for i, u := range uses {
		parts[i] = fmt.Sprintf("deployment %q (%s), variable %s, by %s", u.Deployment, u.DeploymentID, u.Variable, u.By)
	}
	return strings.Join(parts, "; ")
}

// usageCheck decides whether a change that breaks the references counted by
// breaks may go ahead: it returns the uses found, and a refusal when any
// would break or usage could not be read and the caller did not pass
// even_if_used.
func (t *toolset) usageCheck(ctx context.Context, c *togetherapi.Client, s *togetherapi.Secret, evenIfUsed bool, breaks func(use) bool, change string) ([]use, string) {
	deps, unknown := t.deployments(ctx, c)
	if unknown != "" {
		if evenIfUsed {
			return nil, ""
		}
		return nil, fmt.Sprintf("Refused to %s: %s Nothing was sent. Retry, or pass even_if_used: true to go ahead without the check.", change, unknown)
	}
	uses := usesOf(deps, s)
	var broken []use
	for _, u := range uses {
		if breaks(u) {
			broken = append(broken, u)
		}
	}
	if len(broken) == 0 || evenIfUsed {
		return uses, ""
	}
	return uses, fmt.Sprintf("Refused to %s: it would break what uses it: %s. Nothing was sent.", change, describeUses(broken))
}

// evenIfUsedParam declares the override of the usage check.
var evenIfUsedParam = param{name: "even_if_used", typ: "boolean", desc: "Proceed even if it breaks a deployment."}

// repointHint names the tool that changes a deployment's variables, and how
// to have it offered when it is not.
func (t *toolset) repointHint() string {
	if slices.Contains(t.offered, attachSecretName) {
		return attachSecretName
	}
	return fmt.Sprintf("%s, which the server offers when started with %s, or the Together dashboard", attachSecretName, t.advice.AllowDeploymentChanges)
}
