package togetherapi

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
)

const deploymentsPath = "/deployments"

// VariableNamePattern is the API's rule for an environment variable's name:
// a letter or "_", then letters, digits and "_".
const VariableNamePattern = `^[A-Za-z_][A-Za-z0-9_]*$`

// VariableNameMaxLength bounds a variable name. The API states no limit;
// this client's keeps a name within what any shell and container runtime
// take.
const VariableNameMaxLength = 255

// Deployment is what this client reads of a deployment: who it is, its
// state, and its environment variables. The API returns much more (image,
// replicas, hardware); none of it is read.
type Deployment struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Status    string `json:"status,omitempty"`
	UpdatedAt string `json:"updated_at,omitempty"`
	// Variables is the deployment's environment, in the API's order.
	Variables []Variable `json:"-"`
}

// Variable is one environment variable of a deployment: a reference to a
// secret, or a plain value. A plain value is kept only so that a change to
// another variable can send it back unchanged (the API replaces the whole
// list on every update); it cannot be read outside this package.
type Variable struct {
	Name string
	// ValueFromSecret is the name or ID of the secret the variable takes
	// its value from; empty for a plain variable.
	ValueFromSecret string
	value           Sensitive
	// spelled is the variable as Together spelled it, nil for one this
	// client made: what a change to another variable sends back.
	spelled *spelling
}

// spelling is a variable's fields as the JSON string tokens Together sent,
// so that a change to another variable sends this one back byte for byte:
// a token of bytes that are not UTF-8, or of half a surrogate pair, decodes
// to U+FFFD, and sent back decoded would change what Together holds.
type spelling struct {
	name, ref []byte
	value     Sensitive // the token of a plain value, quotes and escapes included
	// inexact says a token does not decode to what it spells, so that
	// only the tokens themselves tell whether two variables are the same.
	inexact bool
}

// same reports whether x and y are the same variable, holding the same
// value or reference.
func (x Variable) same(y Variable) bool {
	if x.Name != y.Name || x.ValueFromSecret != y.ValueFromSecret || x.value != y.value {
		return false
	}
	xs, ys := x.spelled, y.spelled
	if (xs == nil || !xs.inexact) && (ys == nil || !ys.inexact) {
		return true
	}
	return xs != nil && ys != nil && bytes.Equal(xs.name, ys.name) && bytes.Equal(xs.ref, ys.ref) && xs.value == ys.value
}

// Format prints the variable's name and its reference, or [Redacted] for a
// plain value, for every verb, %#v included: fmt cannot reach the
// unexported value's own redaction through reflection, so the variable
// does it.
func (v Variable) Format(f fmt.State, _ rune) {
	if v.isPlain() {
		_, _ = fmt.Fprintf(f, "%s=%s", v.Name, Redacted)
		return
	}
	_, _ = fmt.Fprintf(f, "%s=value_from_secret:%s", v.Name, v.ValueFromSecret)
}

// isPlain reports whether the variable holds a plain value rather than a
// reference to a secret.
func (v Variable) isPlain() bool { return v.ValueFromSecret == "" }

// ListDeployments returns every deployment of the account. The API does not
// page. From the moment a plain value is read, the call's later errors
// about deployments are scrubbed of it.
func (c *Client) ListDeployments(ctx context.Context) ([]Deployment, error) {
	ctx, cancel := c.budget(ctx)
	defer cancel()
	list, err := c.listDeployments(ctx)
	if err != nil {
		return nil, fmt.Errorf("list deployments: %w", err)
	}
	return list, nil
}

func (c *Client) listDeployments(ctx context.Context) ([]Deployment, error) {
	resp, err := c.do(ctx, call{method: http.MethodGet, path: deploymentsPath, idempotent: true, maxBody: maxListBytes, deployment: true})
	if err != nil {
		return nil, err
	}
	return decodeDeployments(ctx, resp)
}

// getDeployment reads the deployment with the given ID or name, within
// the caller's budget.
func (c *Client) getDeployment(ctx context.Context, idOrName string) (*Deployment, error) {
	if err := ValidateDeploymentRef("deployment", idOrName); err != nil {
		return nil, err
	}
	resp, err := c.do(ctx, call{method: http.MethodGet, path: deploymentPath(idOrName), idempotent: true, deployment: true})
	if err != nil {
		return nil, err
	}
	return decodeOneDeployment(ctx, resp)
}

func deploymentPath(id string) string { return deploymentsPath + "/" + url.PathEscape(id) }
