package linkseal

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"

	"github.com/together-secrets-mcp/together-secrets-mcp/togetherapi"
)

// ErrInvalid is a sealed text that the key set did not seal under the
// purpose asked for. It never says why: which check failed would tell a
// forger how near they came.
var ErrInvalid = errors.New("linkseal: not a valid sealed text")

// Format of a sealed text, before base64url: the version byte, the nonce,
// the ciphertext and its tag.
const (
	version   byte = 1
	nonceSize      = 12
	tagSize        = 16
	overhead       = 1 + nonceSize + tagSize
	// MaxSealedLen bounds the text Open reads; it is refused unread beyond.
	MaxSealedLen = 8 << 10
)

// encoding is strict, so that each sealed text has one spelling: a limit
// counted per text could otherwise be had again under another.
var encoding = base64.RawURLEncoding.Strict()

// Seal encrypts and authenticates plaintext for purpose under the current
// link key, and returns URL-safe text.
func (k *Keys) Seal(purpose string, plaintext []byte) string {
	g := k.gens[Current]
	var nonce [nonceSize]byte
	_, _ = rand.Read(nonce[:]) // crypto/rand never fails; it crashes the program first
	out := make([]byte, 0, overhead+len(plaintext))
	out = append(out, version)
	out = append(out, nonce[:]...)
	out = g.aead.Seal(out, nonce[:], plaintext, additional(purpose))
	return encoding.EncodeToString(out)
}

// Open returns the plaintext that Seal sealed for purpose, and the
// generation of the key that sealed it; or ErrInvalid.
func (k *Keys) Open(purpose, sealed string) ([]byte, Generation, error) {
	if len(sealed) < encoding.EncodedLen(overhead) || len(sealed) > MaxSealedLen || !urlSafe(sealed) {
		return nil, 0, ErrInvalid
	}
	raw, err := encoding.DecodeString(sealed)
	if err != nil || len(raw) < overhead || raw[0] != version {
		return nil, 0, ErrInvalid
	}
	nonce, box := raw[1:1+nonceSize], raw[1+nonceSize:]
	ad := additional(purpose)
	for i, g := range k.gens {
		if plain, err := g.aead.Open(nil, nonce, box, ad); err == nil {
			return plain, Generation(i), nil
		}
	}
	return nil, 0, ErrInvalid
}

// additional is what a sealed text is bound to besides its key: its format
// and its purpose.
func additional(purpose string) []byte {
	return append([]byte{version}, purpose...)
}

// urlSafe reports whether s holds only the base64url alphabet. The decoder
// itself skips CR and LF, which would give one sealed text many spellings.
func urlSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// Fingerprint names a caller inside a sealed record: the HMAC-SHA256 of
// their API key under a sub-key of a link key. Without that sub-key it
// tells nothing of the key, and it never leaves a sealed text.
type Fingerprint [sha256.Size]byte

// IsZero reports whether f is unset.
func (f Fingerprint) IsZero() bool { return f == Fingerprint{} }

// Fingerprint returns apiKey's fingerprint under the current link key; the
// zero Fingerprint for an empty key, which no key matches.
func (k *Keys) Fingerprint(apiKey togetherapi.Sensitive) Fingerprint {
	if apiKey.IsZero() {
		return Fingerprint{}
	}
	return apiKey.MAC(k.gens[Current].mac)
}

// Verify reports, in constant time, whether apiKey is the key whose
// fingerprint is want, under the generation of the key that opened the
// record holding want (so a link sealed before a rotation still verifies).
func (k *Keys) Verify(gen Generation, want Fingerprint, apiKey togetherapi.Sensitive) bool {
	if gen < 0 || int(gen) >= len(k.gens) || apiKey.IsZero() || want.IsZero() {
		return false
	}
	got := apiKey.MAC(k.gens[gen].mac)
	return hmac.Equal(got[:], want[:])
}
