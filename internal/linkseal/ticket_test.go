package linkseal_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/together-secrets-mcp/together-secrets-mcp/internal/linkseal"
	"github.com/together-secrets-mcp/together-secrets-mcp/togetherapi"
)

var (
	callerKey = togetherapi.NewSensitive("tgp_v1_CANARYKEY-ticket-0a1b2c3d")
	issued    = time.Date(2026, 7, 28, 12, 0, 0, 0, time.UTC)
)

func ticket(k *linkseal.Keys) linkseal.Ticket {
	return linkseal.Ticket{
		Action:      linkseal.Update,
		Name:        "prod/HF_TOKEN",
		Description: "Hugging Face read token <for the eval job> & co",
		SecretID:    "sec-0123456789abcdef01234567",
		UpdatedAt:   "2026-07-28T11:59:01.123456Z",
		Fingerprint: k.Fingerprint(callerKey),
		CallID:      "4b7de831e6d12f59",
		Caller:      "sha256:3f2a9c1e5b7d",
		IssuedAt:    issued.Unix(),
		ExpiresAt:   issued.Add(10 * time.Minute).Unix(),
	}
}

func TestATicketOpensAsItWasSealedUntilItExpires(t *testing.T) {
	t.Parallel()
	k := mustKeys(t, keyHex)
	for _, want := range []linkseal.Ticket{ticket(k), {Action: linkseal.Create, Name: "A", Fingerprint: k.Fingerprint(callerKey), IssuedAt: 0, ExpiresAt: 1}} {
		sealed, err := k.SealTicket(want)
		if err != nil {
			t.Fatal(err)
		}
		got, err := k.OpenTicket(sealed, time.Unix(want.ExpiresAt-1, 0))
		if err != nil {
			t.Fatalf("OpenTicket: %v", err)
		}
		if diff := cmp.Diff(want, got, cmp.AllowUnexported(linkseal.Ticket{})); diff != "" {
			t.Errorf("opened ticket differs (-sealed +opened):\n%s", diff)
		}
		if !k.Verify(got.Generation(), got.Fingerprint, callerKey) {
			t.Error("the caller's key does not verify against the opened ticket")
		}
		got, err = k.OpenTicket(sealed, time.Unix(want.ExpiresAt, 0))
		if !errors.Is(err, linkseal.ErrExpired) || errors.Is(err, linkseal.ErrInvalid) || got.Name != want.Name {
			t.Errorf("at its expiry: %+v, %v; want the ticket with ErrExpired", got, err)
		}
	}
}

func TestATicketOpenedAfterARotationVerifiesUnderThePreviousKey(t *testing.T) {
	t.Parallel()
	before := mustKeys(t, keyHex)
	during := mustKeys(t, otherHex+"\n"+keyHex)
	sealed, err := before.SealTicket(ticket(before))
	if err != nil {
		t.Fatal(err)
	}
	got, err := during.OpenTicket(sealed, issued)
	if err != nil || got.Generation() != linkseal.Previous {
		t.Fatalf("OpenTicket = generation %d, %v", got.Generation(), err)
	}
	if !during.Verify(got.Generation(), got.Fingerprint, callerKey) {
		t.Error("the link maker's key no longer verifies after a rotation")
	}
}

func TestAnInvalidTicketIsRefusedBeforeItsExpiryIsRead(t *testing.T) {
	t.Parallel()
	k := mustKeys(t, keyHex)
	sealed, err := k.SealTicket(ticket(k))
	if err != nil {
		t.Fatal(err)
	}
	state, err := k.SealRequestState(linkseal.RequestState{Tool: "request_secret_from_user", Fingerprint: k.Fingerprint(callerKey), IssuedAt: 1, ExpiresAt: 2})
	if err != nil {
		t.Fatal(err)
	}
	late := issued.Add(24 * time.Hour)
	for name, text := range map[string]string{
		"another key's ticket":       mustSealTicket(t, mustKeys(t, otherHex)),
		"a request state":            state,
		"one character changed":      sealed[:20] + string(alphabet[(strings.IndexByte(alphabet, sealed[20])+1)%64]) + sealed[21:],
		"a generic seal of a ticket": k.Seal("intake-link/v2", []byte("x")),
	} {
		got, err := k.OpenTicket(text, late)
		if err != linkseal.ErrInvalid || got != (linkseal.Ticket{}) {
			t.Errorf("%s: %+v, %v; want nothing and ErrInvalid, not ErrExpired", name, got, err)
		}
	}
	if _, err := k.OpenRequestState(sealed, issued); err != linkseal.ErrInvalid {
		t.Errorf("a ticket opened as a request state: %v", err)
	}
}

func mustSealTicket(t *testing.T, k *linkseal.Keys) string {
	t.Helper()
	s, err := k.SealTicket(ticket(k))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestATicketNoPageCouldServeIsNotSealed(t *testing.T) {
	t.Parallel()
	k := mustKeys(t, keyHex)
	tests := []struct {
		name   string
		change func(*linkseal.Ticket)
		says   string
	}{
		{"an unknown action", func(t *linkseal.Ticket) { t.Action = "delete" }, "action"},
		{"an update without the secret's ID", func(t *linkseal.Ticket) { t.SecretID = "" }, "needs the secret's ID"},
		{"a create that names a secret", func(t *linkseal.Ticket) { t.Action = linkseal.Create }, "names no existing secret"},
		{"a name the API refuses", func(t *linkseal.Ticket) { t.Name = "a b" }, "may contain only"},
		{"a description over the API's limit", func(t *linkseal.Ticket) { t.Description = strings.Repeat("d", 501) }, "at most 500 characters"},
		{"an overlong secret ID", func(t *linkseal.Ticket) { t.SecretID = strings.Repeat("i", 257) }, "at most 256 bytes"},
		{"an overlong call ID", func(t *linkseal.Ticket) { t.CallID = strings.Repeat("c", 257) }, "at most 256 bytes"},
		{"an overlong caller", func(t *linkseal.Ticket) { t.Caller = strings.Repeat("c", 257) }, "at most 256 bytes"},
		{"no caller", func(t *linkseal.Ticket) { t.Fingerprint = linkseal.Fingerprint{} }, "fingerprint"},
		{"an expiry before the issue", func(t *linkseal.Ticket) { t.ExpiresAt = t.IssuedAt }, "expires after"},
		{"an issue before 1970", func(t *linkseal.Ticket) { t.IssuedAt = -5 }, "expires after"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tk := ticket(k)
			tt.change(&tk)
			if sealed, err := k.SealTicket(tk); err == nil || !strings.Contains(err.Error(), tt.says) || sealed != "" {
				t.Errorf("SealTicket = %q, %v; want an error saying %q", sealed, err, tt.says)
			}
		})
	}
}

// TestATicketLinkStaysUnder2KB measures links: with a 100-character name,
// a description of 1,000 bytes (500 two-byte characters, the API's most),
// an update's ID and timestamp, the call's identity for the audit trail,
// and the public URL of the example, a link is 1,722 characters; with the
// test's usual fields, 334.
func TestATicketLinkStaysUnder2KB(t *testing.T) {
	t.Parallel()
	k := mustKeys(t, keyHex)
	long := ticket(k)
	long.Name = strings.Repeat("n", togetherapi.NameMaxLength)
	long.Description = strings.Repeat("é", togetherapi.DescriptionMaxLength)
	for _, tt := range []struct {
		name string
		tk   linkseal.Ticket
		max  int
	}{
		{"the longest name and a 1,000-byte description", long, 1750},
		{"a usual ticket", ticket(k), 350},
	} {
		sealed, err := k.SealTicket(tt.tk)
		if err != nil {
			t.Fatal(err)
		}
		link := "https://secrets.example.com/v/" + sealed
		t.Logf("%s: a link of %d characters", tt.name, len(link))
		if len(link) > tt.max {
			t.Errorf("%s: a link of %d characters, want at most %d", tt.name, len(link), tt.max)
		}
	}
}

func TestARequestStateBindsTheCallerTheToolAndItsArguments(t *testing.T) {
	t.Parallel()
	k := mustKeys(t, keyHex)
	want := linkseal.RequestState{
		Tool:        "request_secret_from_user",
		Args:        linkseal.ArgsDigest("prod/HF_TOKEN", "read token"),
		Fingerprint: k.Fingerprint(callerKey),
		IssuedAt:    issued.Unix(),
		ExpiresAt:   issued.Add(10 * time.Minute).Unix(),
	}
	sealed, err := k.SealRequestState(want)
	if err != nil {
		t.Fatal(err)
	}
	got, err := k.OpenRequestState(sealed, issued)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(linkseal.RequestState{})); diff != "" {
		t.Errorf("opened state differs (-sealed +opened):\n%s", diff)
	}
	if !k.Verify(got.Generation(), got.Fingerprint, callerKey) || k.Verify(got.Generation(), got.Fingerprint, togetherapi.NewSensitive("tgp_v1_another-caller")) {
		t.Error("the state does not tell its caller from another")
	}
	if _, err := k.OpenRequestState(sealed, issued.Add(10*time.Minute)); !errors.Is(err, linkseal.ErrExpired) {
		t.Errorf("at its expiry: %v, want ErrExpired", err)
	}
	for name, other := range map[string][32]byte{
		"another name":                       linkseal.ArgsDigest("prod/HF_TOKEN2", "read token"),
		"another description":                linkseal.ArgsDigest("prod/HF_TOKEN", "read token!"),
		"the same text split elsewhere":      linkseal.ArgsDigest("prod/HF_TOKENread", " token"),
		"the name alone":                     linkseal.ArgsDigest("prod/HF_TOKEN"),
		"the name with an empty description": linkseal.ArgsDigest("prod/HF_TOKEN", ""),
		"the arguments in another order":     linkseal.ArgsDigest("read token", "prod/HF_TOKEN"),
	} {
		if other == got.Args {
			t.Errorf("%s has the same digest", name)
		}
	}
	if linkseal.ArgsDigest("prod/HF_TOKEN") == linkseal.ArgsDigest("prod/HF_TOKEN", "") {
		t.Error("an empty description is not told from none")
	}
	if _, err := k.SealRequestState(linkseal.RequestState{Fingerprint: want.Fingerprint, IssuedAt: 1, ExpiresAt: 2}); err == nil {
		t.Error("a state without a tool was sealed")
	}
}

func BenchmarkSealAndOpenATicket(b *testing.B) {
	k := mustKeys(b, keyHex)
	tk := ticket(k)
	b.ReportAllocs()
	for b.Loop() {
		sealed, err := k.SealTicket(tk)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := k.OpenTicket(sealed, issued); err != nil {
			b.Fatal(err)
		}
	}
}
