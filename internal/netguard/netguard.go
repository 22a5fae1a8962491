// Package netguard holds the two small judgements every listener and
// client of this program makes the same way: whether a host is this
// machine, and how a secret (a key, a link's token) is named in a log
// without being revealed.
package netguard

import (
	"crypto/sha256"
	"encoding/hex"
	"net"
	"strings"
)

// IsLoopback reports whether host, a name or an address with or without
// brackets and without a port, is this machine: "localhost" in any case, or
// an address in 127.0.0.0/8 or ::1.
func IsLoopback(host string) bool {
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Fingerprint names secret in logs: the first 12 hex digits of its
// SHA-256, enough to tell callers or links apart and useless for finding
// the secret.
func Fingerprint(secret string) string {
	return FingerprintOf(sha256.Sum256([]byte(secret)))
}

// FingerprintOf is the Fingerprint of the secret whose SHA-256 is d, for a
// caller that keeps only the digest.
func FingerprintOf(d [sha256.Size]byte) string {
	return "sha256:" + hex.EncodeToString(d[:6])
}
