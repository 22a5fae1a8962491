package togetherapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits of CreateSecretRequest: the name and description ones are the
// API's schema; the value's is this client's, since the API states none.
// Deployments receive secrets as environment variables, and Linux takes at
// most 128 KiB for one, so 64 KiB leaves room for any name.
const (
	NameMaxLength        = 100
	DescriptionMaxLength = 500
	ValueMaxBytes        = 64 << 10
)

// NamePattern is the character set the API allows in a secret name: letters,
// digits, "_", "-", "/" and ".". The API states it in prose only.
const NamePattern = `^[A-Za-z0-9_./-]+$`

// nameChar reports whether c may appear in a name, per NamePattern. A loop
// over bytes does in nanoseconds, and with nothing to compile at start-up,
// what the pattern says.
func nameChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '/' || c == '-'
}

// validName reports whether s is non-empty and every byte is a nameChar.
func validName(s string) bool {
	for i := 0; i < len(s); i++ {
		if !nameChar(s[i]) {
			return false
		}
	}
	return s != ""
}

const secretsPath = "/deployments/secrets"

// Secret is a secret's metadata, the API's SecretResponseItem. It never holds
// the value: the API does not return it and the client would drop it.
type Secret struct {
	// Object is always "secret".
	Object string `json:"object,omitempty"`
	// ID is the secret's unique identifier.
	ID string `json:"id,omitempty"`
	// Name is the secret's unique name.
	Name string `json:"name,omitempty"`
	// Description says what the secret is for.
	Description string `json:"description,omitempty"`
	// CreatedAt and UpdatedAt are ISO 8601 timestamps, as the API wrote them.
	CreatedAt string `json:"created_at,omitempty"`
	UpdatedAt string `json:"updated_at,omitempty"`
	// CreatedBy and LastUpdatedBy identify who made and last changed it.
	CreatedBy     string `json:"created_by,omitempty"`
	LastUpdatedBy string `json:"last_updated_by,omitempty"`
}

// CreateSecretRequest is the body of a create call.
type CreateSecretRequest struct {
	// Name is the secret's unique name, 1-100 characters of NamePattern.
	Name string
	// Value is the data to store; required. It is encrypted at rest and is
	// never returned.
	Value Sensitive
	// Description is optional, at most 500 characters.
	Description string
	// ProjectID is ignored by the API, which takes the project from the key.
	ProjectID string
}

// FieldError is a request field that breaks one of the API's rules. Its text
// never includes a value.
type FieldError struct {
	// Field is the JSON name of the field.
	Field string
	// Problem says what is wrong, in words meant for the person or agent who
	// must fix it.
	Problem string
}

func (e *FieldError) Error() string { return e.Field + " " + e.Problem }

// Validate reports the first field of r that the API would refuse, or that
// would put the value where it is stored in plain text.
func (r CreateSecretRequest) Validate() error {
	if err := ValidateName("name", r.Name); err != nil {
		return err
	}
	if err := ValidateValue("value", r.Value); err != nil {
		return err
	}
	if err := ValidateDescription(r.Description); err != nil {
		return err
	}
	return checkNotIn(r.Value, "name", r.Name, "description", r.Description)
}

// ValidateValue checks a secret value against the client's limits. field
// names the argument in the error, which never quotes the value.
func ValidateValue(field string, v Sensitive) error {
	switch {
	case v.IsZero():
		return &FieldError{Field: field, Problem: "is required and must not be empty"}
	case v.Size() > ValueMaxBytes:
		return &FieldError{Field: field, Problem: fmt.Sprintf("must be at most %d bytes (it has %d)", ValueMaxBytes, v.Size())}
	case !utf8.ValidString(v.s):
		// encoding/json would send each bad byte as U+FFFD: the value
		// stored would differ from the one given, and from every scrub
		// set built from it.
		return &FieldError{Field: field, Problem: "must be valid UTF-8 text; Together stores text, and this value would be stored altered"}
	}
	return nil
}

// checkNotIn refuses texts that hold the value: names and descriptions are
// stored in plain text and shown in every list. A value of MinSubstringLen
// characters or more may not stand anywhere in them, in any spelling; a
// shorter one, which could be there by chance, may not be the whole text.
// pairs are field names and texts.
func checkNotIn(v Sensitive, pairs ...string) error {
	if v.IsZero() {
		return nil
	}
	for i := 0; i+1 < len(pairs); i += 2 {
		if (Scrubber{v}).Carries(pairs[i+1]) {
			return &FieldError{Field: pairs[i], Problem: "contains the secret value, and Together stores " + pairs[i] +
				"s in plain text and shows them in every list"}
		}
	}
	return nil
}

// ValidateName checks a secret name against the API's rules. field names the
// argument in the error.
func ValidateName(field, name string) error {
	n := utf8.RuneCountInString(name)
	switch {
	case n == 0:
		return &FieldError{Field: field, Problem: "is required and must not be empty"}
	case n > NameMaxLength:
		return &FieldError{Field: field, Problem: fmt.Sprintf("must be at most %d characters (it has %d)", NameMaxLength, n)}
	case !validName(name):
		for i, r := range name {
			if !(r < utf8.RuneSelf && nameChar(byte(r))) {
				return &FieldError{Field: field, Problem: fmt.Sprintf(
					"may contain only letters, digits, '_', '-', '/' and '.' (found %q at position %d)", r, utf8.RuneCountInString(name[:i])+1)}
			}
		}
	}
	return nil
}

// ValidateDescription checks a description against the API's limit.
func ValidateDescription(d string) error {
	if n := utf8.RuneCountInString(d); n > DescriptionMaxLength {
		return &FieldError{Field: "description", Problem: fmt.Sprintf("must be at most %d characters (it has %d)", DescriptionMaxLength, n)}
	}
	return nil
}

// wireSecretRequest is the JSON body of create and update. It is built only
// inside do's caller and cleared after the call.
type wireSecretRequest struct {
	Name        string  `json:"name,omitempty"`
	Value       *string `json:"value,omitempty"`
	Description *string `json:"description,omitempty"`
	ProjectID   string  `json:"project_id,omitempty"`
}

// CreateSecret stores a new secret and returns its metadata. The request is
// validated first; a *FieldError means nothing was sent.
//
// When the API's answer is lost or ambiguous (a timeout or a broken
// connection after the request was sent; a 500, 502 or 504; a success whose
// body is not a secret; or a retry that finds the name taken), CreateSecret
// does not guess and never creates a second secret. It reads the secret back
// by name: one created since this call began was created by it; none means
// the request did not take, so it is sent again if retries are allowed. It
// says how it settled the outcome in CallInfo.Resolution. If it cannot, the
// error is an *OutcomeUnknownError saying how to check by hand.
func (c *Client) CreateSecret(ctx context.Context, req CreateSecretRequest) (*Secret, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
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
		var unknown *OutcomeUnknownError
		if !errors.As(err, &unknown) || ctx.Err() != nil {
			return nil, fmt.Errorf("create secret %q: %w", req.Name, err)
		}
		// A retry that finds the name taken may be meeting its own
		// earlier attempt, whose answer said it did not act.
		retried := errors.Is(err, ErrAlreadyExists)
		malformed := errors.Is(err, ErrMalformedResponse)
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
// answer. An answer that leaves the outcome open is an *OutcomeUnknownError:
// among them "already exists" to a request that was sent before (resent, or
// retried within do), which may be meeting its own first copy.
func (c *Client) createOnce(ctx context.Context, op call, echo sent, resent bool) (*Secret, error) {
	info := callInfoFrom(ctx)
	before := info.Requests
	resp, err := c.do(ctx, op)
	if err != nil {
		if errors.Is(err, ErrAlreadyExists) && (resent || info.Requests-before > 1) {
			return nil, &OutcomeUnknownError{Op: op.String(), Err: err}
		}
		return nil, err
	}
	secret, err := decodeOne(resp, echo)
	if err != nil {
		// It said yes, but not with a secret: it may or may not be one.
		return nil, &OutcomeUnknownError{Op: op.String(), Err: err}
	}
	return secret, nil
}

// decodeOne reads the secret a 2xx answer holds.
func decodeOne(resp *response, echo sent) (*Secret, error) {
	if !isJSON(resp.header) {
		return nil, fmt.Errorf("HTTP %d with content type %q: %w", resp.status, clean(resp.scrub, resp.header.Get("Content-Type")), ErrMalformedResponse)
	}
	s, err := decodeSecret(resp.body, resp.scrub, echo)
	if err != nil {
		return nil, fmt.Errorf("HTTP %d: %w", resp.status, err)
	}
	return s, nil
}

// createdSlack allows for the API's timestamps having whole seconds.
const createdSlack = 2 * time.Second

// settleCreate reads back the secret named name after an ambiguous create.
// It returns the secret and created=true if this call created it, an error
// if that cannot be told or the name was taken before, and neither if the
// secret does not exist, so the create did not take. retried says the
// ambiguity is a retry's "already exists".
func (c *Client) settleCreate(ctx context.Context, name string, start time.Time, unknown *OutcomeUnknownError, retried bool) (*Secret, bool, error) {
	info := callInfoFrom(ctx)
	lost := "the answer was lost (" + describeLoss(unknown.Err) + ")"
	switch {
	case retried:
		lost = "an attempt was retried and the retry found the name taken"
	case errors.Is(unknown.Err, ErrMalformedResponse):
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

// describeLoss names what made an outcome unknown, for a Resolution.
func describeLoss(err error) string {
	var apiErr *APIError
	var te *TimeoutError
	switch {
	case errors.As(err, &apiErr):
		return fmt.Sprintf("HTTP %d", apiErr.StatusCode)
	case errors.As(err, &te):
		return fmt.Sprintf("no answer within %s", te.Timeout)
	case errors.Is(err, ErrResponseTooLarge):
		return "an answer too large to read"
	}
	return "the connection broke"
}

// ListSecrets returns the metadata of every secret. The API does not page.
func (c *Client) ListSecrets(ctx context.Context) ([]Secret, error) {
	ctx, cancel := c.budget(ctx)
	defer cancel()
	list, _, err := c.listSecrets(ctx)
	if err != nil {
		return nil, fmt.Errorf("list secrets: %w", err)
	}
	return list, nil
}

func (c *Client) listSecrets(ctx context.Context) ([]Secret, http.Header, error) {
	resp, err := c.do(ctx, call{method: http.MethodGet, path: secretsPath, idempotent: true, maxBody: MaxListBytes})
	if err != nil {
		return nil, nil, err
	}
	if !isJSON(resp.header) {
		return nil, nil, fmt.Errorf("HTTP %d: %w", resp.status, ErrMalformedResponse)
	}
	list, err := decodeList(resp.body, resp.scrub)
	if err != nil {
		return nil, nil, fmt.Errorf("HTTP %d: %w", resp.status, err)
	}
	return list, resp.header, nil
}

// decodeList reads ListSecretsResponse one item at a time, so a list of tens
// of thousands of secrets costs their metadata and little more.
func decodeList(body []byte, scrub Scrubber) ([]Secret, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, ErrMalformedResponse
	}
	var out []Secret
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return nil, ErrMalformedResponse
		}
		if key != "data" {
			var skip json.RawMessage
			if dec.Decode(&skip) != nil {
				return nil, ErrMalformedResponse
			}
			continue
		}
		if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
			return nil, ErrMalformedResponse
		}
		out = []Secret{}
		var raw json.RawMessage
		for dec.More() {
			if err := dec.Decode(&raw); err != nil {
				return nil, ErrMalformedResponse
			}
			s, err := decodeSecret(raw, scrub, sent{})
			if errors.Is(err, ErrMalformedResponse) && len(raw) > 0 && raw[0] == '{' {
				continue // an entry with no id is no secret anyone can act on
			} else if err != nil {
				return nil, err
			}
			out = append(out, *s)
		}
		if _, err := dec.Token(); err != nil {
			return nil, ErrMalformedResponse
		}
	}
	if out == nil {
		return nil, ErrMalformedResponse
	}
	return out, nil
}

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
}

// ErrNoChange means an update asked for no change; nothing was sent.
var ErrNoChange = errors.New("togetherapi: update changes nothing")

// Validate reports the first field of r that the API would refuse, or that
// would put the new value where it is stored in plain text.
func (r UpdateSecretRequest) Validate() error {
	if r.Name == "" && r.Value.IsZero() && r.Description == nil {
		return ErrNoChange
	}
	if r.Name != "" {
		if err := ValidateName("name", r.Name); err != nil {
			return err
		}
	}
	if !r.Value.IsZero() {
		if err := ValidateValue("value", r.Value); err != nil {
			return err
		}
	}
	var desc string
	if r.Description != nil {
		if err := ValidateDescription(*r.Description); err != nil {
			return err
		}
		desc = *r.Description
	}
	return checkNotIn(r.Value, "name", r.Name, "description", desc)
}

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
// resolve it is a *LookupError: the change was not sent.
func (c *Client) UpdateSecret(ctx context.Context, idOrName string, req UpdateSecretRequest) (*Secret, error) {
	return c.update(ctx, idOrName, req, func(ctx context.Context) (*Secret, error) {
		current, err := c.resolve(ctx, idOrName)
		if err != nil {
			return nil, &LookupError{Err: err}
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

// update validates and encodes req, finds the secret with find, and sends
// the change to its ID, all within one call's budget.
func (c *Client) update(ctx context.Context, what string, req UpdateSecretRequest, find func(context.Context) (*Secret, error)) (*Secret, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
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
// where the update keeps them, must not hold the new value.
func (c *Client) updateSecret(ctx context.Context, current *Secret, req UpdateSecretRequest, body []byte) (*Secret, error) {
	keptName, keptDesc := current.Name, current.Description
	if req.Name != "" {
		keptName = ""
	}
	if req.Description != nil {
		keptDesc = ""
	}
	if err := checkNotIn(req.Value, "name", keptName, "description", keptDesc); err != nil {
		fe := err.(*FieldError)
		fe.Problem = "the secret's current " + fe.Field + " contains the new value, and the update keeps it"
		return nil, err
	}
	echo := sent{name: req.Name, description: req.Description}
	return c.doSecret(ctx, call{method: http.MethodPatch, path: secretPath(current.ID), body: body, scrub: Scrubber{req.Value}, idempotent: true}, echo)
}

// doSecret sends op and decodes the one secret its answer holds.
func (c *Client) doSecret(ctx context.Context, op call, echo sent) (*Secret, error) {
	resp, err := c.do(ctx, op)
	if err != nil {
		return nil, err
	}
	return decodeOne(resp, echo)
}

// DeleteSecret deletes the secret with the given ID or name and returns the
// metadata it had. Like UpdateSecret it acts by ID; a retry that finds the
// secret gone after a lost answer counts as deleted.
func (c *Client) DeleteSecret(ctx context.Context, idOrName string) (*Secret, error) {
	ctx, cancel := c.budget(ctx)
	defer cancel()
	current, err := c.resolve(ctx, idOrName)
	if err != nil {
		return nil, fmt.Errorf("delete secret %q: %w", idOrName, &LookupError{Err: err})
	}
	info := callInfoFrom(ctx)
	before := info.Requests
	_, err = c.do(ctx, call{method: http.MethodDelete, path: secretPath(current.ID), idempotent: true})
	if errors.Is(err, ErrNotFound) && info.Requests-before > 1 {
		// It was there when resolved; an earlier attempt whose answer was
		// lost must have deleted it.
		info.Resolution = "an earlier attempt's answer was lost, and the retry found the secret already gone, so it was deleted"
		err = nil
	}
	if err != nil {
		return nil, fmt.Errorf("delete secret %q: %w", idOrName, err)
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
