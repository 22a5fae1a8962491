// Package linkseal seals and opens the small records team mode hands out
// instead of keeping: the ticket in a value page's link, and the state a
// client carries from one leg of a call to the next. Every replica that
// holds the same link keys opens what any other sealed, and nothing is
// stored anywhere.
//
// The rules, each held by a test:
//   - A sealed text is AES-256-GCM with a random 96-bit nonce, under a
//     sub-key derived by HKDF-SHA256 from a link key; its purpose is bound
//     as associated data, so one kind is never opened as another. It is
//     base64url without padding, behind a version byte.
//   - Whatever the key set did not seal under that purpose (one flipped
//     bit, a cut, an extension, another spelling of the same bytes, another
//     purpose, another key) is ErrInvalid: one error that says nothing of
//     why.
//   - The first link key seals; a second, the previous one, still opens
//     what it sealed, so a rotation during a rolling update kills no link.
//   - A caller is named inside a ticket by an HMAC of their API key under a
//     sub-key of its own, never by the key; checking a typed key against it
//     takes constant time.
package linkseal

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"unicode"
)

// Limits of a link key file.
const (
	// MaxKeyFileBytes bounds a key file; a reader reads at most one byte
	// more, to tell a file that is too large.
	MaxKeyFileBytes = 4 << 10
	// MinKeyBytes is the shortest key accepted, once decoded.
	MinKeyBytes = 32
	// maxKeys is the current key and the previous one.
	maxKeys = 2
)

// Generation says which of the link keys opened a sealed text: Current,
// the first, or Previous, the second.
type Generation int

// The generations of a key set.
const (
	Current  Generation = 0
	Previous Generation = 1
)

// Labels of the HKDF sub-keys: one key never serves two purposes.
const (
	infoEncrypt     = "together-secrets-mcp linkseal v1 encryption"
	infoFingerprint = "together-secrets-mcp linkseal v1 caller fingerprint"
)

// Keys is a set of link keys: the first seals, every one opens. It is safe
// for concurrent use.
type Keys struct {
	gens []generation
}

// generation is one link key's sub-keys. The link key itself is not kept.
type generation struct {
	aead cipher.AEAD
	mac  []byte
}

// KeyFileError is a link key file that cannot be used. Its text says what
// is wrong and what to write instead, and never quotes the file.
type KeyFileError struct {
	// Problem says what is wrong, in words meant for the operator.
	Problem string
}

func (e *KeyFileError) Error() string { return "linkseal: link key file: " + e.Problem }

// howToMake is the advice every key problem ends with.
const howToMake = "write one key made by `openssl rand -hex 32`"

// ParseKeys reads a link key file: one key a line, the key that seals new
// links first and, during a rotation, the previous key second. Blanks
// around a key (spaces, tabs, a CR of a CRLF line end) and blank lines are
// ignored, and so is a UTF-8 byte order mark; there is no comment syntax.
// A key is hex, or base64 in the standard or URL alphabet with or without
// padding, and decodes to at least MinKeyBytes bytes. A line of hex digits
// only is read as hex (random base64 of a key's length is all hex digits
// with a chance below 1e-19).
func ParseKeys(text []byte) (*Keys, error) {
	if len(text) > MaxKeyFileBytes {
		return nil, &KeyFileError{Problem: fmt.Sprintf("it is larger than %d bytes, and holds one key a line, at most two: %s", MaxKeyFileBytes, howToMake)}
	}
	text = bytes.TrimPrefix(text, []byte("\ufeff"))
	var lines []int
	all := strings.Split(string(text), "\n")
	for i, l := range all {
		if strings.TrimSpace(l) != "" {
			lines = append(lines, i)
		}
	}
	switch {
	case len(lines) == 0:
		return nil, &KeyFileError{Problem: "it holds no key: " + howToMake}
	case len(lines) > maxKeys:
		return nil, &KeyFileError{Problem: fmt.Sprintf("it holds %d keys, and may hold two at most: the key that seals new links on the first line and, "+
			"while replicas roll over to it, the previous key on the second", len(lines))}
	}
	k := &Keys{}
	for _, i := range lines {
		key, problem := decodeKey(strings.TrimSpace(all[i]))
		if problem != "" {
			return nil, &KeyFileError{Problem: fmt.Sprintf("line %d %s", i+1, problem)}
		}
		g, err := newGeneration(key)
		clear(key)
		if err != nil {
			return nil, err
		}
		k.gens = append(k.gens, g)
	}
	return k, nil
}

// NewKeys returns a set of one random link key, kept in memory only: links
// it seals open on this process alone, and die with it.
func NewKeys() (*Keys, error) {
	key := make([]byte, MinKeyBytes)
	_, _ = rand.Read(key) // crypto/rand never fails; it crashes the program first
	g, err := newGeneration(key)
	clear(key)
	if err != nil {
		return nil, err
	}
	return &Keys{gens: []generation{g}}, nil
}

// decodeKey decodes one trimmed line, or says what is wrong with it in words
// that follow "line N".
func decodeKey(s string) ([]byte, string) {
	if strings.IndexFunc(s, unicode.IsSpace) >= 0 {
		return nil, "has a blank inside its key; a key is one word of hex or base64: " + howToMake
	}
	var (
		key []byte
		err error
	)
	if isHex(s) {
		if len(s)%2 != 0 {
			return nil, "has an odd number of hex digits, so part of the key is missing: " + howToMake
		}
		key, err = hex.DecodeString(s)
	} else {
		enc := base64.RawStdEncoding
		if strings.ContainsAny(s, "-_") {
			enc = base64.RawURLEncoding
		}
		if strings.HasSuffix(s, "=") {
			enc = enc.WithPadding(base64.StdPadding)
		}
		key, err = enc.Strict().DecodeString(s)
	}
	switch {
	case err != nil:
		return nil, "is neither hex nor base64: " + howToMake
	case len(key) < MinKeyBytes:
		return nil, fmt.Sprintf("decodes to %d bytes, and a link key needs at least %d: %s", len(key), MinKeyBytes, howToMake)
	}
	return key, ""
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// newGeneration derives a link key's sub-keys.
func newGeneration(key []byte) (generation, error) {
	enc, err := hkdf.Key(sha256.New, key, nil, infoEncrypt, 32)
	if err != nil {
		return generation{}, fmt.Errorf("linkseal: deriving the encryption key: %w", err)
	}
	mac, err := hkdf.Key(sha256.New, key, nil, infoFingerprint, sha256.Size)
	if err != nil {
		return generation{}, fmt.Errorf("linkseal: deriving the fingerprint key: %w", err)
	}
	block, err := aes.NewCipher(enc)
	clear(enc)
	if err != nil {
		return generation{}, fmt.Errorf("linkseal: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return generation{}, fmt.Errorf("linkseal: %w", err)
	}
	return generation{aead: aead, mac: mac}, nil
}
