package togetherapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
)

// VariableChange is the outcome of [Client.AttachSecret].
type VariableChange struct {
	// Deployment is the deployment as read back after the change, or as
	// read when there was nothing to change.
	Deployment Deployment
	// Variable is the variable's name.
	Variable string
	// Secret is the secret attached; nil for a detach.
	Secret *Secret
	// Before is the variable as it was, nil when there was none.
	Before *Variable
	// Changed says an update was sent. A change to nothing sends none.
	Changed bool
	// Unexpected names the variables the read-back shows other than the
	// update left them: another change landed at the same moment.
	Unexpected []string
}

// ChangeHooks let the caller of a change to a deployment's variables take
// part in it. A nil hook is skipped.
type ChangeHooks struct {
	// Check is called with each variable the change replaces or removes,
	// as it is in the read the update is built from, once it is known that
	// an update will be sent, and before anything is. An error stops the
	// change, and is returned as it is. Since the update is sent only if a
	// second read finds the deployment as the first, what Check saw is
	// what the update replaces: a caller decides there whether it may.
	Check func(ctx context.Context, v Variable) error
	// BeforeSend is called once everything is checked, just before the
	// update is sent, and not at all when nothing is sent. An error stops
	// the change, and is returned as it is: nothing is sent.
	BeforeSend func(ctx context.Context) error
}

// AttachSecret sets the deployment's variable to take its value from s, a
// secret whose metadata the caller has just read, as it checked it: it is
// referenced by that ID, which a rename does not break, without being
// looked up again. With s nil it detaches instead: it removes the variable,
// which must take its value from a secret (one with a plain value is never
// removed: the error matches ErrPlainVariable); a variable that is not there
// is nothing to change. Every other variable is sent back exactly as
// Together spelled it: the API replaces the whole list on each update.
//
// The deployment is read, and read again just before the update: if it
// moved in between, the update is not sent and the error matches
// ErrDeploymentChanged. After the update the deployment is read back and
// compared with what was sent. The API has no conditional update, so a
// change landing within the last round trip can still be overwritten; the
// read-back reports it in Unexpected. hooks take part as ChangeHooks says.
func (c *Client) AttachSecret(ctx context.Context, deployment, variable string, s *Secret, hooks ChangeHooks) (*VariableChange, error) {
	if s != nil && s.ID == "" {
		return nil, &FieldError{Field: "secret", Problem: "is required: give the secret's ID or name"}
	}
	if err := checkVariableChange(deployment, variable); err != nil {
		return nil, err
	}
	ctx, cancel := c.budget(ctx)
	defer cancel()
	if s == nil {
		return c.detach(ctx, deployment, variable, hooks)
	}
	return c.attach(ctx, deployment, variable, s, hooks)
}

// attachSecretNamed is AttachSecret for the secret with the given ID or
// name, resolved first, so that the deployment, and its plain values, are
// read only once the call's own arguments are settled; a failure to
// resolve it is a *ChangeError whose Effect is NotMade, and nothing was
// sent.
func (c *Client) attachSecretNamed(ctx context.Context, deployment, variable, secret string, hooks ChangeHooks) (*VariableChange, error) {
	if err := checkVariableChange(deployment, variable); err != nil {
		return nil, err
	}
	ctx, cancel := c.budget(ctx)
	defer cancel()
	s, err := c.resolve(ctx, secret)
	if err != nil {
		err = &ChangeError{Effect: NotMade, Err: fmt.Errorf("secret %q: %w", secret, err)}
		return nil, fmt.Errorf("attach secret %q to deployment %q: %w", secret, deployment, err)
	}
	return c.attach(ctx, deployment, variable, s, hooks)
}

func (c *Client) attach(ctx context.Context, deployment, variable string, s *Secret, hooks ChangeHooks) (*VariableChange, error) {
	change, err := c.changeVariables(ctx, deployment, variable, hooks, func(vars []Variable) ([]Variable, error) {
		return setVariable(vars, Variable{Name: variable, ValueFromSecret: s.ID}), nil
	})
	if err != nil {
		return nil, fmt.Errorf("attach secret %q to deployment %q: %w", s.Name, deployment, err)
	}
	change.Secret = s
	return change, nil
}

// detach removes the deployment's variable, unless it holds a plain value.
func (c *Client) detach(ctx context.Context, deployment, variable string, hooks ChangeHooks) (*VariableChange, error) {
	change, err := c.changeVariables(ctx, deployment, variable, hooks, func(vars []Variable) ([]Variable, error) {
		out := vars[:0:0]
		for _, v := range vars {
			if v.Name != variable {
				out = append(out, v)
			} else if v.isPlain() {
				return nil, ErrPlainVariable
			}
		}
		return out, nil
	})
	if err != nil {
		return nil, fmt.Errorf("detach variable %q of deployment %q: %w", variable, deployment, err)
	}
	return change, nil
}

// changeVariables reads the deployment, builds the new list with edit,
// and, if it differs, has hooks check what it replaces, reads the
// deployment again, and only if nothing moved tells hooks, sends the whole
// list and reads it back.
func (c *Client) changeVariables(ctx context.Context, deployment, variable string, hooks ChangeHooks, edit func([]Variable) ([]Variable, error)) (*VariableChange, error) {
	base, err := c.getDeployment(ctx, deployment)
	if err != nil {
		return nil, err
	}
	change := &VariableChange{Deployment: *base, Variable: variable}
	if i := slices.IndexFunc(base.Variables, func(v Variable) bool { return v.Name == variable }); i >= 0 {
		before := base.Variables[i]
		change.Before = &before
	}
	want, err := edit(slices.Clone(base.Variables))
	if err != nil {
		return nil, err
	}
	if sameVariables(want, base.Variables) {
		return change, nil
	}
	for _, v := range base.Variables {
		if v.Name != variable || hooks.Check == nil {
			continue
		}
		if err := hooks.Check(ctx, v); err != nil {
			return nil, err
		}
	}
	now, err := c.getDeployment(ctx, base.ID)
	if err != nil {
		return nil, err
	}
	if now.UpdatedAt != base.UpdatedAt || !sameVariables(now.Variables, base.Variables) {
		return nil, ErrDeploymentChanged
	}
	if hooks.BeforeSend != nil {
		if err := hooks.BeforeSend(ctx); err != nil {
			return nil, err
		}
	}
	if err := c.patchVariables(ctx, base.ID, want); err != nil {
		return nil, err
	}
	change.Changed = true
	after, err := c.getDeployment(ctx, base.ID)
	if err != nil {
		return nil, &ChangeError{Effect: Made, Err: err}
	}
	change.Deployment = *after
	change.Unexpected = differences(want, after.Variables)
	return change, nil
}

// patchVariables sends the whole list of variables: the API replaces the
// deployment's list with it. Each variable Together sent goes back in its
// own tokens, unescaped and unaltered.
func (c *Client) patchVariables(ctx context.Context, id string, vars []Variable) error {
	type wireVariable struct {
		Name            json.RawMessage `json:"name"`
		Value           json.RawMessage `json:"value,omitempty"`
		ValueFromSecret json.RawMessage `json:"value_from_secret,omitempty"`
	}
	wire := struct {
		Variables []wireVariable `json:"environment_variables"`
	}{Variables: make([]wireVariable, len(vars))}
	var scrub Scrubber
	token := func(spelled []byte, s string) json.RawMessage {
		if spelled != nil {
			return spelled
		}
		b, _ := json.Marshal(s) // a string always encodes
		return b
	}
	for i, v := range vars {
		var sp spelling
		if v.spelled != nil {
			sp = *v.spelled
		}
		w := wireVariable{Name: token(sp.name, v.Name)}
		if v.isPlain() {
			var spelledValue []byte
			if !sp.value.IsZero() {
				spelledValue = []byte(sp.value.reveal())
			}
			w.Value = token(spelledValue, v.value.reveal())
			scrub = append(scrub, v.value)
		} else {
			w.ValueFromSecret = token(sp.ref, v.ValueFromSecret)
		}
		wire.Variables[i] = w
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	// Escaping "<", ">" and "&" would respell what Together sent.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(wire); err != nil {
		return fmt.Errorf("togetherapi: encoding the variables: %w", err)
	}
	body := buf.Bytes()
	defer clear(body)
	for i := range wire.Variables {
		clear(wire.Variables[i].Value)
	}
	op := call{method: http.MethodPatch, path: deploymentPath(id), body: body, scrub: scrub, idempotent: true, deployment: true}
	resp, err := c.do(ctx, op)
	if err != nil {
		return err
	}
	if _, err := decodeOneDeployment(ctx, resp); err != nil {
		// It said yes, but not with a deployment: it may or may not be changed.
		return lostAnswer(op, err)
	}
	return nil
}

// setVariable returns vars with the variable named v.Name replaced by v, in
// the place of the first of that name, or appended.
func setVariable(vars []Variable, v Variable) []Variable {
	out, set := vars[:0:0], false
	for _, x := range vars {
		switch {
		case x.Name != v.Name:
			out = append(out, x)
		case !set:
			out, set = append(out, v), true
		}
	}
	if !set {
		out = append(out, v)
	}
	return out
}

// sameVariables reports whether a and b hold the same variables, each with
// the same value or reference, in any order.
func sameVariables(a, b []Variable) bool {
	return len(a) == len(b) && len(differences(a, b)) == 0
}

// differences names the variables of want and got that differ between them.
func differences(want, got []Variable) []string {
	index := func(vs []Variable) map[string][]Variable {
		m := make(map[string][]Variable, len(vs))
		for _, v := range vs {
			m[v.Name] = append(m[v.Name], v)
		}
		return m
	}
	w, g := index(want), index(got)
	var out []string
	same := func(a, b []Variable) bool { return slices.EqualFunc(a, b, Variable.same) }
	for _, v := range want {
		if !slices.Contains(out, v.Name) && !same(w[v.Name], g[v.Name]) {
			out = append(out, v.Name)
		}
	}
	for _, v := range got {
		if _, ok := w[v.Name]; !ok && !slices.Contains(out, v.Name) {
			out = append(out, v.Name)
		}
	}
	return out
}
