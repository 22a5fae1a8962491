package togetherapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// sent is what a request itself carried: a name and description that come
// back exactly as sent are the caller's own words, and are returned intact.
type sent struct {
	name        string
	description *string
}

// checkJSON refuses a 2xx answer whose Content-Type does not allow a JSON
// body, naming the type, scrubbed, and never the body. A missing one is
// allowed; an HTML page or plain text is not.
func checkJSON(resp *response) error {
	ct := resp.header.Get("Content-Type")
	if ct == "" {
		return nil
	}
	if mt, _, err := mime.ParseMediaType(ct); err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json")) {
		return nil
	}
	return &MalformedError{Detail: fmt.Sprintf("HTTP %d with content type %q", resp.status, clean(resp.scrub, ct))}
}

// decodeJSON decodes a 2xx answer's JSON body into v, saying only how it
// failed, never quoting it.
func decodeJSON(resp *response, v any) error {
	if err := checkJSON(resp); err != nil {
		return err
	}
	if err := json.Unmarshal(resp.body, v); err != nil {
		return &MalformedError{Detail: fmt.Sprintf("HTTP %d with a body that is not the JSON expected", resp.status)}
	}
	return nil
}

// decodeSecret reads the metadata of one secret from a JSON object, keeping
// only the documented SecretResponseItem fields and only where they are
// strings, so an extra or malformed field can neither carry a value out nor
// turn a created secret into a reported failure. An object with no id is
// not a secret, and is a *MalformedError.
func decodeSecret(raw []byte, scrub Scrubber, req sent) (*Secret, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, &MalformedError{}
	}
	// Fast path: the documented shape. Unknown fields are skipped.
	var s Secret
	if err := json.Unmarshal(raw, &s); err != nil {
		// A documented field of another type: take the strings one by one.
		var fields map[string]json.RawMessage
		if json.Unmarshal(raw, &fields) != nil {
			return nil, &MalformedError{}
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
		return nil, &MalformedError{}
	}
	s.withhold(scrub, req)
	return &s, nil
}

// withhold replaces with [Redacted], whole, every field that scrub
// withholds, so that no field is ever returned torn. A name or description
// exactly as the caller sent it is kept: the request's validation has
// already checked it.
func (s *Secret) withhold(scrub Scrubber, req sent) {
	if len(scrub) == 0 {
		return
	}
	check := func(key string, f *string, sent bool) {
		if !sent && scrub.Withholds(key, *f) {
			*f = Redacted
		}
	}
	check("object", &s.Object, false)
	check("id", &s.ID, false)
	check("name", &s.Name, req.name != "" && s.Name == req.name)
	check("description", &s.Description, req.description != nil && s.Description == *req.description)
	check("created_at", &s.CreatedAt, false)
	check("updated_at", &s.UpdatedAt, false)
	check("created_by", &s.CreatedBy, false)
	check("last_updated_by", &s.LastUpdatedBy, false)
}

// isShapedField reports whether value has the documented shape of the
// SecretResponseItem field key that cannot carry a secret: "object" is the
// constant "secret", and the timestamps are RFC 3339. Such a field is Together's
// own, whatever value a secret has, and is never withheld.
func isShapedField(key, value string) bool {
	switch key {
	case "object":
		return value == "secret"
	case "created_at", "updated_at":
		_, err := time.Parse(time.RFC3339Nano, value)
		return err == nil
	}
	return false
}

// decodeOne reads the secret a 2xx answer holds.
func decodeOne(resp *response, echo sent) (*Secret, error) {
	if err := checkJSON(resp); err != nil {
		return nil, err
	}
	s, err := decodeSecret(resp.body, resp.scrub, echo)
	if err != nil {
		return nil, fmt.Errorf("HTTP %d: %w", resp.status, err)
	}
	return s, nil
}

// decodeSecrets reads the list of secrets a 2xx answer holds.
func decodeSecrets(resp *response) ([]Secret, error) {
	if err := checkJSON(resp); err != nil {
		return nil, err
	}
	list, err := decodeList(resp.body, resp.scrub)
	if err != nil {
		return nil, fmt.Errorf("HTTP %d: %w", resp.status, err)
	}
	return list, nil
}

// decodeList reads ListSecretsResponse one item at a time, so a list of tens
// of thousands of secrets costs their metadata and little more.
func decodeList(body []byte, scrub Scrubber) ([]Secret, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, &MalformedError{}
	}
	var out []Secret
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return nil, &MalformedError{}
		}
		if key != "data" {
			var skip json.RawMessage
			if dec.Decode(&skip) != nil {
				return nil, &MalformedError{}
			}
			continue
		}
		if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
			return nil, &MalformedError{}
		}
		out = []Secret{}
		var raw json.RawMessage
		for dec.More() {
			if err := dec.Decode(&raw); err != nil {
				return nil, &MalformedError{}
			}
			s, err := decodeSecret(raw, scrub, sent{})
			if isMalformed(err) && len(raw) > 0 && raw[0] == '{' {
				continue // an entry with no id is no secret anyone can act on
			} else if err != nil {
				return nil, err
			}
			out = append(out, *s)
		}
		if _, err := dec.Token(); err != nil {
			return nil, &MalformedError{}
		}
	}
	if out == nil {
		return nil, &MalformedError{}
	}
	return out, nil
}

// wireDeployment is the part of the API's Deployment this client reads.
type wireDeployment struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Status    string `json:"status"`
	UpdatedAt string `json:"updated_at"`
	Variables []struct {
		Name            string  `json:"name"`
		Value           *string `json:"value"`
		ValueFromSecret *string `json:"value_from_secret"`
	} `json:"environment_variables"`
}

// wireSpelling is a deployment's variables as Together spelled them.
type wireSpelling struct {
	Variables []struct {
		Name            json.RawMessage `json:"name"`
		Value           json.RawMessage `json:"value"`
		ValueFromSecret json.RawMessage `json:"value_from_secret"`
	} `json:"environment_variables"`
}

// spelledExactly reports whether a JSON string token decodes to exactly
// what it spells: it is valid UTF-8, and every \u escape of a surrogate is
// one half of a pair. Anything else decodes to U+FFFD.
func spelledExactly(tok string) bool {
	if !utf8.ValidString(tok) {
		return false
	}
	for i := 0; i < len(tok); i++ {
		if tok[i] != '\\' {
			continue
		}
		if i++; i >= len(tok) || tok[i] != 'u' {
			continue // the escaped character is not a backslash to look at
		}
		u, ok := hex4(tok, i+1)
		if !ok {
			return false
		}
		i += 4
		switch {
		case utf16.IsSurrogate(rune(u)) && u >= 0xDC00:
			return false // a low half alone
		case utf16.IsSurrogate(rune(u)):
			lo, ok := hex4(tok, i+3)
			if !ok || tok[i+1] != '\\' || tok[i+2] != 'u' || lo < 0xDC00 || lo > 0xDFFF {
				return false
			}
			i += 6
		}
	}
	return true
}

// decodeDeployments reads the list of deployments a 2xx answer holds. A
// deployment that cannot be read fails the list: skipping it would hide
// what it references.
func decodeDeployments(ctx context.Context, resp *response) ([]Deployment, error) {
	var wire struct {
		Data *[]json.RawMessage `json:"data"`
	}
	if err := decodeJSON(resp, &wire); err != nil {
		return nil, err
	}
	if wire.Data == nil {
		return nil, &MalformedError{Detail: fmt.Sprintf("HTTP %d with no list of deployments", resp.status)}
	}
	out := make([]Deployment, 0, len(*wire.Data))
	for _, raw := range *wire.Data {
		d, err := decodeDeployment(ctx, raw)
		if err != nil {
			return nil, fmt.Errorf("HTTP %d: %w", resp.status, err)
		}
		out = append(out, *d)
	}
	return out, nil
}

// decodeOneDeployment reads the deployment a 2xx answer holds, with the
// tokens of its variables as Together spelled them.
func decodeOneDeployment(ctx context.Context, resp *response) (*Deployment, error) {
	var raw json.RawMessage
	if err := decodeJSON(resp, &raw); err != nil {
		return nil, err
	}
	d, err := decodeDeployment(ctx, raw)
	if err == nil {
		err = keepSpelling(raw, d)
	}
	if err != nil {
		return nil, fmt.Errorf("HTTP %d: %w", resp.status, err)
	}
	return d, nil
}

// decodeDeployment reads one deployment. Each plain value joins the call's
// sensitive strings before anything else is done with it, since people do
// put secrets in plain variables. A deployment that is not of the
// documented shape is refused whole: a variable skipped could be the one
// reference a delete must not break.
func decodeDeployment(ctx context.Context, raw json.RawMessage) (*Deployment, error) {
	var w wireDeployment
	err := json.Unmarshal(raw, &w)
	info := callInfoFrom(ctx)
	// Read even after a type error, which leaves the rest decoded.
	d := &Deployment{ID: w.ID, Name: w.Name, Status: w.Status, UpdatedAt: w.UpdatedAt, Variables: make([]Variable, 0, len(w.Variables))}
	for _, v := range w.Variables {
		if v.Value != nil && *v.Value != "" {
			info.plain = append(info.plain, NewSensitive(*v.Value))
		}
	}
	if err != nil {
		return nil, &MalformedError{Detail: "a deployment not of the documented shape"}
	}
	if w.ID == "" {
		return nil, &MalformedError{Detail: "a deployment with no id"}
	}
	for _, v := range w.Variables {
		hasValue, hasRef := v.Value != nil, v.ValueFromSecret != nil && *v.ValueFromSecret != ""
		if v.Name == "" || hasValue == hasRef {
			return nil, &MalformedError{Detail: fmt.Sprintf("deployment %s has a variable with no name, or with both or neither of value and value_from_secret", w.ID)}
		}
		x := Variable{Name: v.Name}
		if hasRef {
			x.ValueFromSecret = *v.ValueFromSecret
		} else {
			x.value = NewSensitive(*v.Value)
		}
		d.Variables = append(d.Variables, x)
	}
	return d, nil
}

// keepSpelling gives each variable of d, decoded from raw, its fields as
// Together spelled them, for a change to another variable to send it back
// as it came. Only a deployment read for a change pays for this; a list,
// read for its references, does not.
func keepSpelling(raw json.RawMessage, d *Deployment) error {
	var w wireSpelling
	if err := json.Unmarshal(raw, &w); err != nil || len(w.Variables) != len(d.Variables) {
		return &MalformedError{Detail: "a deployment not of the documented shape"}
	}
	for i, v := range w.Variables {
		sp := &spelling{name: v.Name, inexact: !spelledExactly(string(v.Name))}
		if d.Variables[i].isPlain() {
			sp.value = NewSensitive(string(v.Value))
			sp.inexact = sp.inexact || !spelledExactly(sp.value.reveal())
		} else {
			sp.ref = v.ValueFromSecret
			sp.inexact = sp.inexact || !spelledExactly(string(v.ValueFromSecret))
		}
		d.Variables[i].spelled = sp
	}
	return nil
}
