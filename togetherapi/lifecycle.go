package togetherapi

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// UpdateSecretRequest is the body of an update call. Every field is
// optional, but at least one of Name, Value and Description must change.
type UpdateSecretRequest struct {
	// Name renames the secret; empty keeps the name.
	Name string
	// Value replaces the stored value; zero keeps it.
	Value Sensitive
	// Description replaces the description; nil keeps it, "" clears it.
	Description *string
	// ProjectID is ignored by the API.
	ProjectID string
	// KeptUnchecked leaves the name and description the update keeps
	// unchecked against Value, for a caller to whom Value is unknown (read
	// from a file on its behalf): they are its own words, and refusing
	// them for holding the value would tell it that they do. They are
	// returned as they were, not withheld, for the same reason.
	KeptUnchecked bool
}

// errNoChange is an update that asks for no change.
var errNoChange = errors.New("togetherapi: update changes nothing: give at least one of name, value or description")

// GetSecret returns the metadata of the secret with the given ID or name.
// A name holding "/" is looked up through the list, since the API's path
// cannot carry it unambiguously.
func (c *Client) GetSecret(ctx context.Context, idOrName string) (*Secret, error) {
	ctx, cancel := c.budget(ctx)
	defer cancel()
	if isPlainSegment(idOrName) {
		s, err := c.doSecret(ctx, call{method: http.MethodGet, path: secretPath(idOrName), idempotent: true}, sent{})
		if err != nil {
			return nil, fmt.Errorf("get secret %q: %w", idOrName, err)
		}
		return s, nil
	}
	s, err := c.resolve(ctx, idOrName)
	if err != nil {
		return nil, fmt.Errorf("get secret %q: %w", idOrName, err)
	}
	return s, nil
}

// UpdateSecret changes the secret with the given ID or name and returns its
// new metadata. The secret is first resolved to its ID, so that the request
// goes to one secret whatever its name holds, and so that sending it again
// after a lost answer has the same effect as sending it once. A failure to
// resolve it is a *ChangeError whose Effect is NotMade: the change was not
// sent.
func (c *Client) UpdateSecret(ctx context.Context, idOrName string, req UpdateSecretRequest) (*Secret, error) {
	return c.update(ctx, idOrName, req, func(ctx context.Context) (*Secret, error) {
		current, err := c.resolve(ctx, idOrName)
		if err != nil {
			return nil, &ChangeError{Effect: NotMade, Err: err}
		}
		return current, nil
	})
}

// UpdateSecretOf changes the secret whose metadata the caller has just
// read, by its ID, without looking it up again: for a caller that changes
// many secrets after one list.
func (c *Client) UpdateSecretOf(ctx context.Context, current *Secret, req UpdateSecretRequest) (*Secret, error) {
	if current == nil || current.ID == "" {
		return nil, &FieldError{Field: "id", Problem: "is required: give the secret's ID or name"}
	}
	return c.update(ctx, current.Name, req, func(context.Context) (*Secret, error) { return current, nil })
}

// update encodes req, finds the secret with find, and sends the change to
// its ID, all within one call's budget. req is sent as given: the caller
// checks it first with req.Validate; what only the secret found can tell
// (whether its kept name or description holds the new value) is checked
// here.
func (c *Client) update(ctx context.Context, what string, req UpdateSecretRequest, find func(context.Context) (*Secret, error)) (*Secret, error) {
	body, err := encodeUpdate(req)
	if err != nil {
		return nil, err
	}
	defer clear(body)
	ctx, cancel := c.budget(ctx)
	defer cancel()
	current, err := find(ctx)
	if err == nil {
		current, err = c.updateSecret(ctx, current, req, body)
	}
	if err != nil {
		return nil, fmt.Errorf("update secret %q: %w", what, err)
	}
	return current, nil
}

func encodeUpdate(req UpdateSecretRequest) ([]byte, error) {
	wire := wireSecretRequest{Name: req.Name, Description: req.Description, ProjectID: req.ProjectID}
	if !req.Value.IsZero() {
		v := req.Value.reveal()
		wire.Value = &v
	}
	body, err := json.Marshal(wire)
	if err != nil {
		return nil, fmt.Errorf("togetherapi: encoding update request: %w", err)
	}
	return body, nil
}

// updateSecret sends an update of current, whose name and description,
// where the update keeps them, must not hold the new value, unless
// req.KeptUnchecked.
func (c *Client) updateSecret(ctx context.Context, current *Secret, req UpdateSecretRequest, body []byte) (*Secret, error) {
	keptName, keptDesc := current.Name, current.Description
	if req.Name != "" {
		keptName = ""
	}
	if req.Description != nil {
		keptDesc = ""
	}
	echo := sent{name: req.Name, description: req.Description}
	if req.KeptUnchecked {
		echo = sent{name: cmp.Or(req.Name, current.Name), description: cmp.Or(req.Description, &current.Description)}
	} else if err := checkNotIn(req.Value, "name", keptName, "description", keptDesc); err != nil {
		fe := err.(*FieldError)
		fe.Problem = "the secret's current " + fe.Field + " contains the new value, and the update keeps it"
		return nil, err
	}
	return c.doSecret(ctx, call{method: http.MethodPatch, path: secretPath(current.ID), body: body, scrub: Scrubber{req.Value}, idempotent: true}, echo)
}

// doSecret sends op and decodes the one secret its answer holds.
func (c *Client) doSecret(ctx context.Context, op call, echo sent) (*Secret, error) {
	resp, err := c.do(ctx, op)
	if err != nil {
		return nil, err
	}
	s, err := decodeOne(resp, echo)
	if err != nil && op.changes() {
		// It said yes, but not with a secret: the change may or may not
		// have been made, as for a create.
		return nil, lostAnswer(op, err)
	}
	return s, err
}

// DeleteSecretOf deletes the secret whose metadata the caller has just
// read, by its ID, without looking it up again: for a caller that checks
// something of the secret, such as what uses it, before deleting it. It
// returns the metadata the secret had. A retry that finds the secret gone
// after a lost answer counts as deleted.
func (c *Client) DeleteSecretOf(ctx context.Context, current *Secret) (*Secret, error) {
	if current == nil || current.ID == "" {
		return nil, &FieldError{Field: "id", Problem: "is required: give the secret's ID or name"}
	}
	ctx, cancel := c.budget(ctx)
	defer cancel()
	return c.deleteSecret(ctx, current.Name, current)
}

// deleteSecretNamed is DeleteSecretOf for the secret with the given ID or
// name, resolved first, as UpdateSecret resolves it; a failure to resolve
// it is a *ChangeError whose Effect is NotMade, and nothing was sent.
func (c *Client) deleteSecretNamed(ctx context.Context, idOrName string) (*Secret, error) {
	ctx, cancel := c.budget(ctx)
	defer cancel()
	current, err := c.resolve(ctx, idOrName)
	if err != nil {
		return nil, fmt.Errorf("delete secret %q: %w", idOrName, &ChangeError{Effect: NotMade, Err: err})
	}
	return c.deleteSecret(ctx, idOrName, current)
}

func (c *Client) deleteSecret(ctx context.Context, what string, current *Secret) (*Secret, error) {
	info := callInfoFrom(ctx)
	before := info.Requests
	_, err := c.do(ctx, call{method: http.MethodDelete, path: secretPath(current.ID), idempotent: true})
	if unknown := unknownOutcome(err); unknown != nil && errors.Is(unknown.Retry, ErrNotFound) || errors.Is(err, ErrNotFound) && info.Requests-before > 1 {
		// It was there when resolved; an earlier attempt whose answer was
		// lost must have deleted it.
		info.Resolution = "an earlier attempt's answer was lost, and the retry found the secret already gone, so it was deleted"
		err = nil
	}
	if err != nil {
		return nil, fmt.Errorf("delete secret %q: %w", what, err)
	}
	return current, nil
}

// resolve finds a secret by ID, then by name, through the list, as the API's
// {id} does.
func (c *Client) resolve(ctx context.Context, idOrName string) (*Secret, error) {
	if idOrName == "" {
		return nil, &FieldError{Field: "id", Problem: "is required: give the secret's ID or name"}
	}
	list, _, err := c.listSecrets(ctx)
	if err != nil {
		return nil, err
	}
	for _, match := range []func(Secret) bool{
		func(s Secret) bool { return s.ID == idOrName },
		func(s Secret) bool { return s.Name == idOrName },
	} {
		for i := range list {
			if match(list[i]) {
				return &list[i], nil
			}
		}
	}
	return nil, &APIError{StatusCode: http.StatusNotFound, Message: fmt.Sprintf("no secret has the ID or name %q", idOrName)}
}

// isPlainSegment reports whether s can stand in a URL path as one segment
// with nothing that a proxy or router might read differently.
func isPlainSegment(s string) bool {
	return s != "." && s != ".." && validName(s) && !strings.Contains(s, "/")
}

func secretPath(id string) string { return secretsPath + "/" + url.PathEscape(id) }
