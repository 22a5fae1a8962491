package tools

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/together-secrets-mcp/together-secrets-mcp/togetherapi"
)

// arguments are a tool call's arguments, decoded only as far as their JSON
// types, so that each is checked by hand and every error can name the field
// and the rule in plain words, without ever quoting what was sent.
type arguments map[string]json.RawMessage

// argError is an argument a tool refused before anything was sent: the
// argument's name and what is wrong with it, never what was sent. Rules
// of the API itself come back from togetherapi as its FieldError.
type argError struct {
	Field, Problem string
	// err is the kind of problem, where a caller branches on it.
	err error
}

func (e *argError) Error() string { return e.Field + " " + e.Problem }

func (e *argError) Unwrap() error { return e.err }

// errNotText is an argument that is not valid UTF-8 text.
var errNotText = errors.New("not valid UTF-8 text")

// Limits on arguments beyond the API's own. The whole arguments object is
// bounded first, so an oversized call costs no decoding: a value of
// togetherapi.ValueMaxBytes written with every character escaped as \uXXXX
// takes six times its size.
const (
	maxArgumentsBytes = 6*togetherapi.ValueMaxBytes + 64<<10
	maxIDLength       = 256
	maxProjectIDLen   = 256
)

// decodeArguments decodes the call's arguments as a JSON object, once for
// the whole call. An absent or null arguments field is an empty object.
func decodeArguments(req mcp.CallToolRequest) (arguments, error) {
	raw := req.Params.RawArguments
	if len(raw) == 0 && req.Params.Arguments != nil {
		var err error
		if raw, err = json.Marshal(req.Params.Arguments); err != nil {
			return nil, &argError{Field: "arguments", Problem: "could not be read as JSON"}
		}
	}
	if len(raw) > maxArgumentsBytes {
		return nil, &argError{Field: "arguments", Problem: fmt.Sprintf(
			"are %d bytes, more than the %d accepted (a value may be at most %d bytes)", len(raw), maxArgumentsBytes, togetherapi.ValueMaxBytes)}
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return arguments{}, nil
	}
	if raw[0] != '{' {
		return nil, &argError{Field: "arguments", Problem: fmt.Sprintf("must be a JSON object, not %s", jsonKind(raw))}
	}
	var args arguments
	if err := json.Unmarshal(raw, &args); err != nil {
		return nil, &argError{Field: "arguments", Problem: "must be a valid JSON object"}
	}
	return args, nil
}

// unknownArguments refuses arguments that ps does not declare.
func unknownArguments(args arguments, ps params) error {
	var unknown []string
	for k := range args {
		if !ps.declares(k) {
			unknown = append(unknown, quoteKey(k))
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		noun := "argument"
		if len(unknown) > 1 {
			noun = "arguments"
		}
		return &argError{
			Field:   "arguments",
			Problem: fmt.Sprintf("has unknown %s %s; the accepted ones are %s", noun, strings.Join(unknown, ", "), strings.Join(ps.names(), ", ")),
		}
	}
	return nil
}

// optionalString returns the string at key, and whether it was given. A
// null counts as not given, as many clients send null for an unset field.
func (a arguments) optionalString(key string) (string, bool, error) {
	raw, ok := a[key]
	if !ok || string(raw) == "null" {
		return "", false, nil
	}
	if err := stringProblem(key, raw); err != nil {
		return "", false, err
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false, &argError{Field: key, Problem: "must be a valid JSON string"}
	}
	return s, true, nil
}

// stringProblem says why the argument key, raw, is not a string that
// decodes to exactly what it spells, without decoding it; nil if it is.
func stringProblem(key string, raw json.RawMessage) error {
	if kind := jsonKind(raw); kind != "a string" {
		return &argError{Field: key, Problem: fmt.Sprintf("must be a string, not %s", kind)}
	}
	if !exactText(raw) {
		return &argError{Field: key, err: errNotText, Problem: "must be valid UTF-8 text: it holds bytes that are not, or a \\u escape of half a surrogate pair, " +
			"which JSON decoding would silently turn into U+FFFD and so store altered; send the text as UTF-8"}
	}
	return nil
}

// exactText reports whether a JSON string decodes to exactly what it
// spells: valid UTF-8 throughout, and no \u escape of an unpaired
// surrogate. encoding/json replaces either with U+FFFD without a word.
func exactText(raw json.RawMessage) bool {
	if !utf8.Valid(raw) {
		return false
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' || i+1 >= len(raw) {
			continue
		}
		if raw[i+1] != 'u' {
			i++ // a short escape, \\ among them
			continue
		}
		r, ok := hex4(raw, i+2)
		switch {
		case !ok:
			return false
		case r >= 0xD800 && r < 0xDC00:
			lo, ok := hex4(raw, i+8)
			if !ok || i+7 >= len(raw) || raw[i+6] != '\\' || raw[i+7] != 'u' || lo < 0xDC00 || lo > 0xDFFF {
				return false
			}
			i += 11
		case r >= 0xDC00 && r <= 0xDFFF:
			return false
		default:
			i += 5
		}
	}
	return true
}

// hex4 reads four hex digits at raw[i:].
func hex4(raw []byte, i int) (rune, bool) {
	if i+4 > len(raw) {
		return 0, false
	}
	var r rune
	for _, c := range raw[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// optionalBool returns the boolean at key, false when not given or null.
func (a arguments) optionalBool(key string) (bool, error) {
	raw, ok := a[key]
	if !ok || string(raw) == "null" {
		return false, nil
	}
	var b bool
	if err := json.Unmarshal(raw, &b); err != nil {
		return false, &argError{Field: key, Problem: fmt.Sprintf("must be true or false, not %s", jsonKind(raw))}
	}
	return b, nil
}

// requiredString returns the non-empty string at key.
func (a arguments) requiredString(key string) (string, error) {
	s, ok, err := a.optionalString(key)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", &argError{Field: key, Problem: "is required"}
	}
	if s == "" {
		return "", &argError{Field: key, Problem: "must not be empty"}
	}
	return s, nil
}

// checkLength refuses a string argument of more than max characters.
func checkLength(field, s string, max int) error {
	if n := utf8.RuneCountInString(s); n > max {
		return &argError{Field: field, Problem: fmt.Sprintf("must be at most %d characters (it has %d)", max, n)}
	}
	return nil
}

// jsonKind names the JSON type of raw without quoting it.
func jsonKind(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "empty"
	}
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	default:
		return "a number"
	}
}

// quoteKey quotes an argument name for an error message. A long one, such
// as a pasted blob used as a key, is described rather than quoted: cut, it
// could hold part of a value that no scrubber would then recognise.
func quoteKey(k string) string {
	const max = 40
	if n := utf8.RuneCountInString(k); n > max {
		return fmt.Sprintf("(a name of %d characters)", n)
	}
	return fmt.Sprintf("%q", k)
}

// param declares one argument of a tool, in the one place its name, JSON
// type, limits and description are written: the input schema MCP is given
// and the names a call may send both derive from a tool's params.
type param struct {
	name     string
	typ      string // "string", "boolean" or "array"
	desc     string
	minLen   int // of a string, in characters; 0 for none
	maxLen   int
	pattern  string
	enum     []string
	items    *param // an array's elements
	maxItems int
	required bool
}

// params are a tool's arguments, in the order its schema lists them.
type params []param

// names returns the arguments' names, in order.
func (ps params) names() []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.name
	}
	return out
}

// declares reports whether ps has an argument named name.
func (ps params) declares(name string) bool {
	return slices.ContainsFunc(ps, func(p param) bool { return p.name == name })
}

// without returns ps less the argument named name.
func (ps params) without(name string) params {
	return slices.DeleteFunc(slices.Clone(ps), func(p param) bool { return p.name == name })
}

// propertySchema is one property of an input schema; the order of its
// fields is the order in which tools/list gives them.
type propertySchema struct {
	Type        string          `json:"type"`
	Enum        []string        `json:"enum,omitempty"`
	Items       *propertySchema `json:"items,omitempty"`
	MinLength   int             `json:"minLength,omitempty"`
	MaxLength   int             `json:"maxLength,omitempty"`
	MaxItems    int             `json:"maxItems,omitempty"`
	Pattern     string          `json:"pattern,omitempty"`
	Description string          `json:"description,omitempty"`
}

func (p param) property() *propertySchema {
	out := &propertySchema{Type: p.typ, Enum: p.enum, MinLength: p.minLen, MaxLength: p.maxLen,
		MaxItems: p.maxItems, Pattern: p.pattern, Description: p.desc}
	if p.items != nil {
		out.Items = p.items.property()
	}
	return out
}

// schema returns the input schema of a tool taking ps: a closed object,
// its properties in the order declared, since a map would sort them.
func (ps params) schema() json.RawMessage {
	var b bytes.Buffer
	b.WriteString(`{"type":"object","properties":{`)
	var required []string
	for i, p := range ps {
		if i > 0 {
			b.WriteByte(',')
		}
		name, _ := json.Marshal(p.name)
		prop, err := json.Marshal(p.property())
		if err != nil {
			panic("tools: a parameter that cannot be encoded: " + err.Error())
		}
		b.Write(name)
		b.WriteByte(':')
		b.Write(prop)
		if p.required {
			required = append(required, p.name)
		}
	}
	b.WriteByte('}')
	if len(required) > 0 {
		r, _ := json.Marshal(required)
		b.WriteString(`,"required":`)
		b.Write(r)
	}
	b.WriteString(`,"additionalProperties":false}`)
	return b.Bytes()
}

// argReader reads a call's arguments against its tool's params. Each
// method records the first problem, after which every read returns the
// zero value, and err returns that problem: a parser reads straight down,
// and the caller learns of the first rule broken.
type argReader struct {
	args  arguments
	value togetherapi.Sensitive
	first error
}

// readArguments reads the arguments the wrapper decoded for rec's call,
// refusing any that ps does not declare.
func readArguments(rec *callRecord, ps params) *argReader {
	r := &argReader{args: rec.args, value: rec.value, first: rec.argsErr}
	if r.ok() {
		r.check(unknownArguments(r.args, ps))
	}
	return r
}

// check records err, unless a problem is recorded already.
func (r *argReader) check(err error) {
	if r.first == nil {
		r.first = err
	}
}

// fail records that the argument field breaks a rule, said by problem.
func (r *argReader) fail(field, problem string) {
	r.check(&argError{Field: field, Problem: problem})
}

// ok reports whether no problem is recorded, for a check that is costly
// to make for nothing.
func (r *argReader) ok() bool { return r.first == nil }

// err returns the first problem recorded.
func (r *argReader) err() error { return r.first }

// str returns the required, non-empty string argument name.
func (r *argReader) str(name string) string {
	if !r.ok() {
		return ""
	}
	s, err := r.args.requiredString(name)
	r.check(err)
	return s
}

// optStr returns the string argument name, and whether it was given.
func (r *argReader) optStr(name string) (string, bool) {
	if !r.ok() {
		return "", false
	}
	s, ok, err := r.args.optionalString(name)
	r.check(err)
	return s, ok
}

// optBool returns the boolean argument name, false when not given.
func (r *argReader) optBool(name string) bool {
	if !r.ok() {
		return false
	}
	b, err := r.args.optionalBool(name)
	r.check(err)
	return b
}

// maxLen refuses the string argument field when it has more than max
// characters.
func (r *argReader) maxLen(field, s string, max int) {
	r.check(checkLength(field, s, max))
}

// sensitive returns the "value" argument: the one the wrapper wrapped and
// put into the call's scrub set, once it is known to be text. A value that
// is not text is not recorded but returned as notText, for the caller to
// say last, after every rule that does not read the value.
func (r *argReader) sensitive() (v togetherapi.Sensitive, given bool, notText error) {
	raw, ok := r.args["value"]
	if !r.ok() || !ok || string(raw) == "null" {
		return togetherapi.Sensitive{}, false, nil
	}
	if err := stringProblem("value", raw); errors.Is(err, errNotText) {
		return togetherapi.Sensitive{}, false, err
	} else if err != nil {
		r.check(err)
		return togetherapi.Sensitive{}, false, nil
	}
	return r.value, true, nil
}

// secretID returns the required argument name that names a secret by ID
// or name.
func (r *argReader) secretID(name string) string {
	id := r.str(name)
	r.maxLen(name, id, maxIDLength)
	return id
}
