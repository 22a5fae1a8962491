package togetherapi

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

// wireSecretRequest is the JSON body of create and update. It is built only
// inside do's caller and cleared after the call.
type wireSecretRequest struct {
	Name        string  `json:"name,omitempty"`
	Value       *string `json:"value,omitempty"`
	Description *string `json:"description,omitempty"`
	ProjectID   string  `json:"project_id,omitempty"`
}
