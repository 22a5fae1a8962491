package netguard_test

import (
	"crypto/sha256"
	"testing"

	"github.com/together-secrets-mcp/together-secrets-mcp/internal/netguard"
)

func TestIsLoopbackKnowsEveryNameOfThisMachine(t *testing.T) {
	t.Parallel()
	for host, want := range map[string]bool{
		"localhost": true, "LocalHost": true, "127.0.0.1": true, "127.8.9.10": true, "::1": true, "[::1]": true,
		"0.0.0.0": false, "": false, "example.com": false, "127.0.0.1.evil.example": false, "localhost.evil.example": false, "10.0.0.1": false, "::": false,
	} {
		if got := netguard.IsLoopback(host); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestAFingerprintTellsSecretsApartAndHoldsNoneOfThem(t *testing.T) {
	t.Parallel()
	a, b := netguard.Fingerprint("tgp_key_one"), netguard.Fingerprint("tgp_key_two")
	if a == b || len(a) != len("sha256:")+12 || a != netguard.FingerprintOf(sha256.Sum256([]byte("tgp_key_one"))) {
		t.Errorf("fingerprints %q and %q", a, b)
	}
}
