package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/together-secrets-mcp/together-secrets-mcp/internal/audit"
	"github.com/together-secrets-mcp/together-secrets-mcp/togetherapi"
)

const attachSecretName = "attach_secret"

var attachSecretArgs = params{
	{name: "deployment", typ: "string", minLen: 1, maxLen: maxIDLength, desc: "ID or name.", required: true},
	{name: "variable", typ: "string", minLen: 1, maxLen: togetherapi.VariableNameMaxLength, pattern: togetherapi.VariableNamePattern, required: true},
	secretParam("secret", false),
	{name: "detach", typ: "boolean", desc: "Remove the variable; give no secret."},
}

var attachSecretOutputSchema = json.RawMessage(`{
  "type": "object",
  "properties": {
    "deployment": {"type": "object"}, "variable": {"type": "string"}, "secret": {"type": "object"},
    "changed": {"type": "boolean"}, "previous": {"type": "string"}, "unexpected": {"type": "array"}
  },
  "required": ["deployment", "variable", "changed"]
}`)

func (t *toolset) attachSecret() tool {
	x := define(attachSecretName, "Attach secret to deployment",
		"Set a deployment's environment variable to a secret (by its ID), or remove it (detach); other variables are kept. "+
			"The deployment rolls out again. Never returns a value.",
		attachSecretArgs, attachSecretOutputSchema, hints{destructive: true, idempotent: true})
	x.handle, x.needsDeploymentChanges = t.handleAttachSecret, true
	return x
}

// attachment is attach_secret's structured result.
type attachment struct {
	Deployment togetherapi.Deployment `json:"deployment"`
	Variable   string                 `json:"variable"`
	Secret     *secretRef             `json:"secret,omitempty"`
	Changed    bool                   `json:"changed"`
	// Previous is what the variable held: "none", "plain value", or
	// "value_from_secret <name or ID>".
	Previous   string   `json:"previous"`
	Unexpected []string `json:"unexpected,omitempty"`
}

// secretRef names a secret in a result.
type secretRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

func (t *toolset) handleAttachSecret(ctx context.Context, deps Deps, req mcp.CallToolRequest, rec *callRecord) *mcp.CallToolResult {
	deployment, variable, secret, detach, err := parseAttach(rec)
	if err != nil {
		return invalidArguments(attachSecretName, rec, err)
	}
	rec.secret = secret

	what := fmt.Sprintf("attach secret %q to variable %s of deployment %q", secret, variable, deployment)
	e := t.entry(ctx, rec, attachSecretName, "attach", secret)
	if detach {
		what = fmt.Sprintf("detach variable %s of deployment %q", variable, deployment)
		e.Action = "detach"
	}
	e.Deployment, e.Variable = deployment, variable
	var s *togetherapi.Secret
	if !detach {
		// The secret first: the deployment, and its plain values, are read
		// only once the call's own arguments are resolved.
		var refused *mcp.CallToolResult
		if s, refused = t.lookupInScope(ctx, deps.Client, rec, e, secret, operation{what: what, write: true, oneSecret: true}); refused != nil {
			return refused
		}
		e.Secret, e.SecretID = s.Name, s.ID
	}
	var change *togetherapi.VariableChange
	// The attempt is recorded only once the update is about to be sent: an
	// attach to what is already there, or a change refused on the read,
	// attempts nothing.
	err = t.auditedWhenSent(ctx, rec, e, func(attempt func(audit.Entry) error) (string, error) {
		hooks := togetherapi.ChangeHooks{
			Check:      t.removesInScope(deps.Client, &e, s),
			BeforeSend: func(context.Context) error { return attempt(e) },
		}
		var err error
		change, err = deps.Client.AttachSecret(ctx, deployment, variable, s, hooks) // s is nil for a detach
		return e.SecretID, err
	})
	switch {
	case errors.Is(err, errAuditUnwritable):
		return t.auditRefused(rec, what)
	case errors.Is(err, errRemovesOutOfScope):
		rec.outcome = outcomeRefusedByPolicy
		t.auditRefusal(ctx, rec, e, "out of scope")
		return mcp.NewToolResultError(fmt.Sprintf("Refused to %s: the variable references a secret outside the names this server may act on (%s). "+
			"Nothing was sent to Together.", what, t.scopeWords()))
	case err != nil:
		return t.attachFailure(ctx, rec, what, err)
	}
	return attachResult(change)
}

// parseAttach reads attach_secret's arguments, checking each against the
// API's rules before anything is sent.
func parseAttach(rec *callRecord) (deployment, variable, secret string, detach bool, err error) {
	r := readArguments(rec, attachSecretArgs)
	deployment = r.str("deployment")
	r.maxLen("deployment", deployment, maxIDLength)
	r.check(togetherapi.ValidateDeploymentRef("deployment", deployment))
	variable = r.str("variable")
	r.check(togetherapi.ValidateVariableName("variable", variable))
	secret, hasSecret := r.optStr("secret")
	detach = r.optBool("detach")
	switch {
	case !r.ok():
	case detach && hasSecret:
		r.fail("secret", "must be left out with detach: the variable is removed whatever secret it names")
	case !detach && secret == "":
		r.fail("secret", "is required: give the secret's ID or name, or set detach to remove the variable")
	case !detach:
		r.maxLen("secret", secret, maxIDLength)
	}
	return deployment, variable, secret, detach, r.err()
}

// errRemovesOutOfScope means a change would replace or remove a variable
// that references a secret outside the scope: a scope covers what a change
// removes, not only what it adds.
var errRemovesOutOfScope = errors.New("the variable references a secret outside the scope")

// removesInScope is the check a change of a deployment's variables makes of
// each variable it replaces or removes, on the very read the update is
// built from: under a name scope, a reference to a secret outside it
// refuses the change with errRemovesOutOfScope, looked up through c.
// attached is the secret an attach sets, already checked; nil for a detach,
// whose audit line e then names the secret it unhooks.
func (t *toolset) removesInScope(c *togetherapi.Client, e *audit.Entry, attached *togetherapi.Secret) func(context.Context, togetherapi.Variable) error {
	return func(ctx context.Context, v togetherapi.Variable) error {
		ref := v.ValueFromSecret
		if ref == "" || attached != nil && (ref == attached.ID || ref == attached.Name) {
			return nil // a plain value is no one's secret
		}
		if len(t.cfg.NamePrefixes) == 0 {
			if attached == nil {
				e.SecretID = ref
			}
			return nil
		}
		current, err := c.GetSecret(ctx, ref)
		switch {
		case err == nil && t.inScope(current.Name):
			if attached == nil {
				e.Secret, e.SecretID = current.Name, current.ID
			}
			return nil
		case errors.Is(err, togetherapi.ErrNotFound) && t.inScope(ref):
			if attached == nil {
				e.Secret = ref // a reference to a secret that is gone, by a name in scope
			}
			return nil
		case err != nil && !errors.Is(err, togetherapi.ErrNotFound):
			return &togetherapi.ChangeError{Effect: togetherapi.NotMade, Err: err}
		}
		return errRemovesOutOfScope
	}
}

// attachFailure words the failures only a change of variables has, and
// leaves the rest to apiFailure.
func (t *toolset) attachFailure(ctx context.Context, rec *callRecord, what string, err error) *mcp.CallToolResult {
	var change *togetherapi.ChangeError
	switch {
	case errors.Is(err, togetherapi.ErrDeploymentChanged):
		rec.outcome = outcomeError
		return mcp.NewToolResultError(fmt.Sprintf("Did not %s: the deployment changed while the change was being prepared, "+
			"and sending it would have overwritten that change. Nothing was sent. Retry to apply it to the deployment as it is now.", what))
	case errors.Is(err, togetherapi.ErrPlainVariable):
		rec.outcome = outcomeInvalid
		return mcp.NewToolResultError(fmt.Sprintf("Did not %s: the variable holds a plain value, not a reference to a secret, "+
			"and detach removes only references. Nothing was sent. To move it into a secret, attach one to the same variable.", what))
	case errors.As(err, &change) && change.Effect == togetherapi.Made:
		rec.outcome = outcomeError
		_, msg := t.describeFailure(ctx, operation{what: "read the deployment back"}, change.Err)
		return mcp.NewToolResultError(fmt.Sprintf("The change to %s was sent and accepted, but could not be verified: %s", what, msg))
	}
	return t.apiFailure(ctx, rec, operation{what: what, write: true, oneDeployment: true}, err)
}

func attachResult(c *togetherapi.VariableChange) *mcp.CallToolResult {
	out := attachment{Deployment: c.Deployment, Variable: c.Variable, Changed: c.Changed, Previous: "none", Unexpected: c.Unexpected}
	if c.Secret != nil {
		out.Secret = &secretRef{ID: c.Secret.ID, Name: c.Secret.Name}
	}
	if c.Before != nil {
		out.Previous = "plain value"
		if ref := c.Before.ValueFromSecret; ref != "" {
			out.Previous = "value_from_secret " + ref
		}
	}
	res := structuredResult(out)
	var note string
	switch {
	case !c.Changed:
		note = "Nothing to change: the deployment already had this, so no update was sent."
	case len(c.Unexpected) > 0:
		note = fmt.Sprintf("Changed, and Together rolls the deployment out again. But the deployment's variables as read back differ from what was sent in %q: "+
			"another change landed at the same moment and one of the two may be lost. Check the deployment.", c.Unexpected)
	default:
		note = "Changed, and verified by reading the deployment back. Together rolls the deployment out again: its status is Updating until the new revision is Ready."
	}
	res.Content = append(res.Content, mcp.NewTextContent(note))
	return res
}
