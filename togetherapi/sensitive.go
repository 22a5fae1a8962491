package togetherapi

import (
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"unicode/utf8"
)

// Redacted is what a Sensitive prints in place of its contents, and what the
// scrubber writes where it removed one.
const Redacted = "[REDACTED]"

// minSubstringLen is the length, in characters, from which a sensitive string
// is looked for everywhere as a substring. A shorter one (a PIN, a word such
// as "prod" or "true", a single letter) would match by chance inside ordinary
// words, IDs and timestamps, so it is looked for only as a whole token, and
// a metadata field is taken to carry it only when the field is exactly it.
const minSubstringLen = 6

// Sensitive holds a secret value or an API key. Every way Go has of turning
// it into text prints [Redacted], so a value that slips into a log line or
// an error message leaks nothing: fmt calls Format for every verb, %#v
// included, and encoding/json, encoding/xml, log/slog's handlers and
// zerolog call MarshalText. The only way out is the request this package
// builds.
//
// Two values are equal, by ==, when they hold the same contents. The zero
// Sensitive is empty.
type Sensitive struct {
	// A struct, not a named string, so that string(v) cannot reveal it.
	s string
	// long says s has minSubstringLen characters or more. Derived from s,
	// and false when s is empty, so that == compares the contents alone.
	long bool
}

// NewSensitive wraps s.
func NewSensitive(s string) Sensitive {
	return Sensitive{s: s, long: utf8.RuneCountInString(s) >= minSubstringLen}
}

// IsZero reports whether the value is empty.
func (v Sensitive) IsZero() bool { return v.s == "" }

// size returns the length of the contents in bytes, for limits.
func (v Sensitive) size() int { return len(v.s) }

// String returns [Redacted], for whoever asks for a fmt.Stringer.
func (v Sensitive) String() string { return Redacted }

// Format prints [Redacted] for every verb and flag.
func (v Sensitive) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(Redacted)) }

// MarshalText returns [Redacted]. The request body is built from the
// contents directly, never through this method.
func (v Sensitive) MarshalText() ([]byte, error) { return []byte(Redacted), nil }

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
