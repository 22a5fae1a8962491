package togetherapi

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"log/slog"
	"unicode/utf8"
)

// Redacted is what a Sensitive prints in place of its contents, and what the
// scrubber writes where it removed one.
const Redacted = "[REDACTED]"

// MinSubstringLen is the length, in characters, from which a sensitive string
// is looked for everywhere as a substring. A shorter one (a PIN, a word such
// as "prod" or "true", a single letter) would match by chance inside ordinary
// words, IDs and timestamps, so it is looked for only as a whole token, and
// a metadata field is taken to carry it only when the field is exactly it.
const MinSubstringLen = 6

// Sensitive holds a secret value or an API key. Every way Go has of turning
// it into text (fmt verbs, encoding/json, encoding.TextMarshaler, log/slog,
// and zerolog, which falls back to the JSON and Stringer forms) prints
// [Redacted], so a value that slips into a log line or an error message
// leaks nothing. The only way out is the request this package builds.
//
// The zero Sensitive is empty.
type Sensitive struct {
	// A struct, not a named string, so that string(v) cannot reveal it.
	s string
	// short says s has fewer than MinSubstringLen characters.
	short bool
}

// NewSensitive wraps s.
func NewSensitive(s string) Sensitive {
	return Sensitive{s: s, short: utf8.RuneCountInString(s) < MinSubstringLen}
}

// IsZero reports whether the value is empty.
func (v Sensitive) IsZero() bool { return v.s == "" }

// Equal reports whether two values hold the same contents.
func (v Sensitive) Equal(other Sensitive) bool { return v.s == other.s }

// size returns the length of the contents in bytes, for limits.
func (v Sensitive) size() int { return len(v.s) }

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

// MAC returns the HMAC-SHA256 of the contents under key. To whoever holds
// key it tells equal contents from unequal ones; to anyone else it tells
// nothing. It is how a key typed on a page is checked against the one a
// link was made with, when neither may be kept.
func (v Sensitive) MAC(key []byte) [sha256.Size]byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(v.s))
	var sum [sha256.Size]byte
	m.Sum(sum[:0])
	return sum
}

// reveal returns the contents. It is unexported so that only this package,
// which writes the request body and the Authorization header, can read them.
func (v Sensitive) reveal() string { return v.s }
