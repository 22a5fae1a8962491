package tools

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/together-secrets-mcp/together-secrets-mcp/togetherapi"
)

// quotableLen is the length, in characters, from which a value found in an
// error is taken to be quoted there rather than to stand there by chance:
// the scrubber's own line between the two.
const quotableLen = 6

// FuzzParseCreateSecret checks, for any arguments at all, that parsing never
// panics, that what it accepts obeys every rule of the schema, and that its
// error never depends on the value's contents, so it cannot quote it.
func FuzzParseCreateSecret(f *testing.F) {
	for _, seed := range []string{
		`{"name":"HF_TOKEN","value":"hf_abc"}`,
		`{"name":"a/b.c-d_e","value":"v","description":"d","project_id":"p"}`,
		`{"name":"bad name","value":"v"}`,
		`{"name":"A","value":""}`,
		`{"name":"A","value":null}`,
		`{"name":"A","value":1}`,
		`{"name":"A","value":"v","extra":true}`,
		`{"name":"é","value":"v"}`,
		`["name"]`, `"x"`, `null`, ``, `{`, `{"name":"A","name":"B","value":"v"}`,
		`{"name":"xxxxxxxx","value":"abcdefgh"}`, `{"name":"db/hunter22","value":"hunter22"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, err := parseCreateSecret(recordOf(requestWith(raw)))
		if err == nil {
			if togetherapi.ValidateName("name", got.Name) != nil {
				t.Fatalf("accepted invalid name %q", got.Name)
			}
			if got.Value.IsZero() {
				t.Fatal("accepted an empty value")
			}
			if utf8.RuneCountInString(got.Description) > togetherapi.DescriptionMaxLength {
				t.Fatal("accepted a description over the limit")
			}
			var fields map[string]json.RawMessage
			if json.Unmarshal(raw, &fields) != nil {
				t.Fatalf("accepted arguments that are not a JSON object: %q", raw)
			}
			for k := range fields {
				if !strings.Contains(" name value description project_id ", " "+k+" ") {
					t.Fatalf("accepted unknown argument %q", k)
				}
			}
			return
		}

		// Swap the value for another of the same length: the error must not
		// change, or it depends on (and could quote) the value.
		var fields map[string]json.RawMessage
		if json.Unmarshal(raw, &fields) != nil {
			return
		}
		var v string
		if json.Unmarshal(fields["value"], &v) != nil || v == "" {
			return
		}
		fields["value"], _ = json.Marshal(strings.Repeat("x", utf8.RuneCountInString(v)))
		swapped, _ := json.Marshal(fields)
		_, err2 := parseCreateSecret(recordOf(requestWith(swapped)))
		_, err1 := parseCreateSecret(recordOf(requestWith(reencode(t, raw))))
		// The two rules that look at the value's contents: a name or
		// description may not hold it, and it must be UTF-8 text. Their
		// errors name the field only.
		holds := func(err error) bool {
			var fe *togetherapi.FieldError
			return errors.As(err, &fe) && strings.Contains(fe.Problem, "contains the secret value") ||
				err != nil && strings.HasPrefix(err.Error(), "value must be valid UTF-8 text")
		}
		if holds(err1) || holds(err2) {
			for _, err := range []error{err1, err2} {
				if err != nil && utf8.RuneCountInString(v) >= quotableLen && strings.Contains(err.Error(), v) {
					t.Fatalf("the error quotes the value: %v", err)
				}
			}
			return
		}
		if err1 == nil || err2 == nil || err1.Error() != err2.Error() {
			t.Fatalf("the error depends on the value: %v vs %v", err1, err2)
		}
	})
}

func requestWith(raw []byte) mcp.CallToolRequest {
	var req mcp.CallToolRequest
	req.Params.Name = "create_secret"
	req.Params.RawArguments = raw
	return req
}

// recordOf is the record the call wrapper makes of req's arguments.
func recordOf(req mcp.CallToolRequest) *callRecord {
	rec := &callRecord{}
	rec.keepArguments(req)
	return rec
}

// reencode decodes and re-encodes a JSON object, so it can be compared with
// one built the same way.
func reencode(t *testing.T, raw []byte) []byte {
	t.Helper()
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(fields)
	return out
}
