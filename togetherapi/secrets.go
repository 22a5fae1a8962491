package togetherapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"unicode/utf8"
)

// Limits of CreateSecretRequest, from the API's schema.
const (
	NameMaxLength        = 100
	DescriptionMaxLength = 500
)

// NamePattern is the character set the API allows in a secret name: letters,
// digits, "_", "-", "/" and ".". The API states it in prose only.
const NamePattern = `^[A-Za-z0-9_./-]+$`

var nameRE = regexp.MustCompile(NamePattern)

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

// Validate reports the first field of r that the API would refuse.
func (r CreateSecretRequest) Validate() error {
	if err := ValidateName("name", r.Name); err != nil {
		return err
	}
	if r.Value.IsZero() {
		return &FieldError{Field: "value", Problem: "is required and must not be empty"}
	}
	return ValidateDescription(r.Description)
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
	case !nameRE.MatchString(name):
		for i, r := range name {
			if !(r < utf8.RuneSelf && nameRE.MatchString(string(r))) {
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

	scrub := Scrubber{req.Value}
	resp, err := c.do(ctx, call{method: http.MethodPost, path: secretsPath, body: body, scrub: scrub})
	if err != nil {
		return nil, fmt.Errorf("create secret %q: %w", req.Name, err)
	}
	secret, err := decodeSecret(resp, scrub)
	if err != nil {
		return nil, fmt.Errorf("create secret %q: %w", req.Name, err)
	}
	return secret, nil
}
