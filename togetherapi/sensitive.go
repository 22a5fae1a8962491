package togetherapi

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Redacted is what a Sensitive prints in place of its contents.
const Redacted = "[REDACTED]"

// Sensitive holds a secret value or an API key. Every way Go has of turning
// it into text (fmt verbs, encoding/json, encoding.TextMarshaler, log/slog,
// and zerolog, which falls back to the JSON and Stringer forms) prints
// [Redacted], so a value that slips into a log line or an error message
// leaks nothing. The only way out is the request body this package builds.
//
// The zero Sensitive is empty.
type Sensitive struct {
	// A struct, not a named string, so that string(v) cannot reveal it.
	s string
	// The spellings Scrub looks for, worked out once.
	forms []string
}

// NewSensitive wraps s.
func NewSensitive(s string) Sensitive {
	v := Sensitive{s: s}
	if s != "" {
		v.forms = spellings(s)
	}
	return v
}

// IsZero reports whether the value is empty.
func (v Sensitive) IsZero() bool { return v.s == "" }

// Equal reports whether two values hold the same contents.
func (v Sensitive) Equal(other Sensitive) bool { return v.s == other.s }

// String returns [Redacted].
func (v Sensitive) String() string { return Redacted }

// GoString returns [Redacted], so %#v prints nothing either.
func (v Sensitive) GoString() string { return Redacted }

// Format prints [Redacted] for every verb and flag.
func (v Sensitive) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(Redacted)) }

// MarshalJSON returns the JSON string [Redacted]. The request body is built
// from the contents directly, never through this method.
func (v Sensitive) MarshalJSON() ([]byte, error) { return json.Marshal(Redacted) }

// MarshalText returns [Redacted].
func (v Sensitive) MarshalText() ([]byte, error) { return []byte(Redacted), nil }

// LogValue returns [Redacted] for log/slog.
func (v Sensitive) LogValue() slog.Value { return slog.StringValue(Redacted) }

// Scrub returns text with every occurrence of the value replaced by
// [Redacted]. It looks for the value as it is and in the escaped forms a JSON
// encoder may have written it in, because an API error body that quotes a
// request quotes it JSON-encoded.
func (v Sensitive) Scrub(text string) string {
	if v.s == "" || text == "" {
		return text
	}
	for _, form := range v.forms {
		if strings.Contains(text, form) {
			text = strings.ReplaceAll(text, form, Redacted)
		}
	}
	return text
}

// Contained reports whether text holds the value in any form Scrub removes.
func (v Sensitive) Contained(text string) bool {
	if v.s == "" {
		return false
	}
	for _, form := range v.forms {
		if strings.Contains(text, form) {
			return true
		}
	}
	return false
}

// spellings lists the ways s may be written out, longest first, so that an
// escaped form is replaced whole before the raw form could split it.
func spellings(value string) []string {
	if !needsEscape(value) {
		// Every encoder writes it as it is; the common case for keys and
		// tokens, and worth the shortcut on every call.
		return []string{value}
	}
	forms := []string{value}
	add := func(f string) {
		for _, have := range forms {
			if have == f {
				return
			}
		}
		forms = append(forms, f)
	}
	// encoding/json with HTML escaping (Go's default) and without it.
	quoted, _ := json.Marshal(value)
	add(string(quoted[1 : len(quoted)-1]))
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(value)
	plain := strings.TrimSuffix(b.String(), "\n")
	plain = plain[1 : len(plain)-1]
	add(plain)
	// Encoders in other languages escape "/" as "\/", or every non-ASCII
	// character as \uXXXX (Python's default).
	add(strings.ReplaceAll(plain, "/", `\/`))
	add(asciiEscape(plain))
	// Longest first: a form that contains another must go before it.
	for i := 1; i < len(forms); i++ {
		for j := i; j > 0 && len(forms[j]) > len(forms[j-1]); j-- {
			forms[j], forms[j-1] = forms[j-1], forms[j]
		}
	}
	return forms
}

// needsEscape reports whether some JSON encoder would write s differently
// from s itself.
func needsEscape(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= utf8.RuneSelf || strings.IndexByte(`"\<>&/`, c) >= 0 {
			return true
		}
	}
	return false
}

// asciiEscape writes every non-ASCII rune of s as a JSON \uXXXX escape, with
// surrogate pairs above U+FFFF, the way Python's json module does by default.
func asciiEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r < utf8.RuneSelf:
			b.WriteRune(r)
		case r > 0xFFFF:
			r1, r2 := utf16.EncodeRune(r)
			fmt.Fprintf(&b, `\u%04x\u%04x`, r1, r2)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
	}
	return b.String()
}

// reveal returns the contents. It is unexported so that only this package,
// which writes the request body and the Authorization header, can read them.
func (v Sensitive) reveal() string { return v.s }

// Scrubber removes a set of sensitive values from text.
type Scrubber []Sensitive

// Scrub returns text with every value in s replaced by [Redacted].
func (s Scrubber) Scrub(text string) string {
	for _, v := range s {
		text = v.Scrub(text)
	}
	return text
}

// Contained reports whether text holds any value in s.
func (s Scrubber) Contained(text string) bool {
	for _, v := range s {
		if v.Contained(text) {
			return true
		}
	}
	return false
}
