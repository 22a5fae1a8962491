package togetherapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// CreateSecret stores a new secret and returns its metadata. It sends req
// as given: the caller checks it first with req.Validate, once, where it
// can word a refusal in its own terms before it records or sends anything.
//
// When the API's answer is lost or ambiguous (a timeout or a broken
// connection after the request was sent; a 500, 502 or 504; a success whose
// body is not a secret; or a retry that finds the name taken), CreateSecret
// does not guess and never creates a second secret. It reads the secret back
// by name: one created since this call began was created by it; none means
// the request did not take, so it is sent again if retries are allowed. It
// says how it settled the outcome in CallInfo.Resolution. If it cannot, the
// error is a *ChangeError that may have been made, saying how to check by
// hand.
func (c *Client) CreateSecret(ctx context.Context, req CreateSecretRequest) (*Secret, error) {
	value := req.Value.reveal()
	wire := wireSecretRequest{Name: req.Name, Value: &value, ProjectID: req.ProjectID}
	if req.Description != "" {
		wire.Description = &req.Description
	}
	body, err := json.Marshal(wire)
	if err != nil {
		return nil, fmt.Errorf("togetherapi: encoding create request: %w", err)
	}
	// The encoded value lives in this buffer only; wipe it once sent.
	defer clear(body)

	ctx, cancel := c.budget(ctx)
	defer cancel()
	info := callInfoFrom(ctx)
	start := c.now()
	op := call{method: http.MethodPost, path: secretsPath, body: body, scrub: Scrubber{req.Value}}
	echo := sent{name: req.Name, description: &req.Description}
	for resend, resent := c.maxRetries > 0, false; ; resend, resent = false, true {
		secret, err := c.createOnce(ctx, op, echo, resent)
		if err == nil {
			return secret, nil
		}
		unknown := unknownOutcome(err)
		if unknown == nil || ctx.Err() != nil {
			return nil, fmt.Errorf("create secret %q: %w", req.Name, err)
		}
		// A retry that finds the name taken may be meeting its own
		// earlier attempt, whose answer said it did not act.
		retried := errors.Is(err, ErrAlreadyExists)
		malformed := isMalformed(err)
		secret, created, settleErr := c.settleCreate(ctx, req.Name, start, unknown, retried)
		switch {
		case settleErr != nil || created:
			return secret, settleErr
		case retried, malformed, !resend:
			// Not there: a retry's "already exists" or a success that
			// said nothing stands as it is, and without retries so does
			// a lost answer.
			return nil, fmt.Errorf("create secret %q: %w", req.Name, unknown.Err)
		}
		info.Resolution += "; sent it again"
	}
}

// createOnce sends a create, with the retries do allows, and decodes the
// answer. An answer that leaves the outcome open is a *ChangeError that may
// have been made:
// among them "already exists" to a request that was sent before (resent, or
// retried within do), which may be meeting its own first copy.
func (c *Client) createOnce(ctx context.Context, op call, echo sent, resent bool) (*Secret, error) {
	info := callInfoFrom(ctx)
	before := info.Requests
	resp, err := c.do(ctx, op)
	if err != nil {
		if errors.Is(err, ErrAlreadyExists) && (resent || info.Requests-before > 1) {
			return nil, lostAnswer(op, err)
		}
		return nil, err
	}
	secret, err := decodeOne(resp, echo)
	if err != nil {
		// It said yes, but not with a secret: it may or may not be one.
		return nil, lostAnswer(op, err)
	}
	return secret, nil
}

// createdSlack allows for the API's timestamps having whole seconds.
const createdSlack = 2 * time.Second

// settleCreate reads back the secret named name after an ambiguous create.
// It returns the secret and created=true if this call created it, an error
// if that cannot be told or the name was taken before, and neither if the
// secret does not exist, so the create did not take. retried says the
// ambiguity is a retry's "already exists".
func (c *Client) settleCreate(ctx context.Context, name string, start time.Time, unknown *ChangeError, retried bool) (*Secret, bool, error) {
	info := callInfoFrom(ctx)
	lost := "the answer was lost: " + unknown.Lost
	switch {
	case retried:
		lost = "an attempt was retried and the retry found the name taken"
	case isMalformed(unknown.Err):
		lost = "Together answered success without the secret's metadata"
	}
	fail := func(detail string) error {
		unknown.Detail, unknown.Name, unknown.Since = detail, name, start
		return fmt.Errorf("create secret %q: %w", name, unknown)
	}

	list, header, err := c.listSecrets(ctx)
	if err != nil {
		return nil, false, fail("reading the secrets back failed too")
	}
	var found *Secret
	for i := range list {
		if list[i].Name == name {
			found = &list[i]
			break
		}
	}
	if found == nil {
		info.Resolution = lost + "; reading the secrets back showed it was not created"
		return nil, false, nil
	}
	created, err := time.Parse(time.RFC3339Nano, found.CreatedAt)
	if err != nil {
		return nil, false, fail(fmt.Sprintf("a secret named %q exists, but its created_at (%q) cannot tell whether this call made it", name, found.CreatedAt))
	}
	// The server's clock when this call began: its Date now, less the time
	// that has passed here. This needs no agreement between the two clocks.
	began := start.Add(-createdSlack)
	if date, err := http.ParseTime(header.Get("Date")); err == nil {
		began = date.Add(-c.now().Sub(start)).Add(-createdSlack)
	}
	if created.Before(began) {
		info.Resolution = lost + "; reading the secrets back showed the name was already taken before this call"
		return nil, false, fmt.Errorf("create secret %q: %w", name, &APIError{
			StatusCode: http.StatusConflict,
			Message:    fmt.Sprintf("a secret named %q already existed (created %s, before this call)", name, found.CreatedAt),
		})
	}
	info.Resolution = fmt.Sprintf("%s; reading the secret back showed it created at %s, during this call, so it was created once", lost, found.CreatedAt)
	return found, true, nil
}
