package togetherapi

import (
	"bytes"
	"encoding/json"
	"mime"
	"net/http"
	"strings"
	"time"
)

// sent is what a request itself carried: a name and description that come
// back exactly as sent are the caller's own words, and are returned intact.
type sent struct {
	name        string
	description *string
}

// isJSON reports whether a response's Content-Type allows a JSON body. A
// missing one is allowed; an HTML page or plain text is not.
func isJSON(h http.Header) bool {
	ct := h.Get("Content-Type")
	if ct == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

// decodeSecret reads the metadata of one secret from a JSON object, keeping
// only the documented SecretResponseItem fields and only where they are
// strings, so an extra or malformed field can neither carry a value out nor
// turn a created secret into a reported failure. An object with no id is
// not a secret, and is ErrMalformedResponse.
func decodeSecret(raw []byte, scrub Scrubber, req sent) (*Secret, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, ErrMalformedResponse
	}
	// Fast path: the documented shape. Unknown fields are skipped.
	var s Secret
	if err := json.Unmarshal(raw, &s); err != nil {
		// A documented field of another type: take the strings one by one.
		var fields map[string]json.RawMessage
		if json.Unmarshal(raw, &fields) != nil {
			return nil, ErrMalformedResponse
		}
		str := func(key string) string {
			var v string
			_ = json.Unmarshal(fields[key], &v)
			return v
		}
		s = Secret{
			Object: str("object"), ID: str("id"), Name: str("name"), Description: str("description"),
			CreatedAt: str("created_at"), UpdatedAt: str("updated_at"), CreatedBy: str("created_by"), LastUpdatedBy: str("last_updated_by"),
		}
	}
	if s.ID == "" {
		return nil, ErrMalformedResponse
	}
	s.withhold(scrub, req)
	return &s, nil
}

// withhold replaces with [Redacted] every field that carries a sensitive
// string, whole, so that no field is ever returned torn. The exceptions are
// the fields that cannot carry one: the constant object type, well-formed
// timestamps, and a name or description exactly as the caller sent it
// (which the request's validation has already checked).
func (s *Secret) withhold(scrub Scrubber, req sent) {
	if len(scrub) == 0 {
		return
	}
	check := func(f *string, keep bool) {
		if !keep && scrub.Carries(*f) {
			*f = Redacted
		}
	}
	check(&s.Object, IsShapedField("object", s.Object))
	check(&s.ID, false)
	check(&s.Name, req.name != "" && s.Name == req.name)
	check(&s.Description, req.description != nil && s.Description == *req.description)
	check(&s.CreatedAt, IsShapedField("created_at", s.CreatedAt))
	check(&s.UpdatedAt, IsShapedField("updated_at", s.UpdatedAt))
	check(&s.CreatedBy, false)
	check(&s.LastUpdatedBy, false)
}

// IsShapedField reports whether value has the documented shape of the
// SecretResponseItem field key that cannot carry a secret: "object" is the
// constant "secret", and the timestamps are RFC 3339. Such a field is Together's
// own, whatever value a secret has, and is never withheld.
func IsShapedField(key, value string) bool {
	switch key {
	case "object":
		return value == "secret"
	case "created_at", "updated_at":
		_, err := time.Parse(time.RFC3339Nano, value)
		return err == nil
	}
	return false
}
