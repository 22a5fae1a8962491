package intake_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/together-secrets-mcp/together-secrets-mcp/intake"
	"github.com/together-secrets-mcp/together-secrets-mcp/internal/netguard"
	"github.com/together-secrets-mcp/together-secrets-mcp/togetherapi"
)

func TestAnIssuedLinkStoresWhatItWasIssuedForWithTheMakersKeyOnly(t *testing.T) {
	t.Parallel()
	p := newTeamPage(t, intake.TeamConfig{TTL: 5 * time.Minute})
	p.clock.Advance(1500 * time.Millisecond) // links are made in whole seconds
	asked := intake.TeamRequest{Replace: true, Name: "prod/HF_TOKEN", Description: "rotated", SecretID: "sec-existing-9",
		UpdatedAt: "2026-07-28T11:59:59Z", CallID: makerCallID, Caller: netguard.Fingerprint(makerKey)}
	link, issued, err := p.team.Issue(asked, togetherapi.NewSensitive(makerKey))
	if err != nil {
		t.Fatal(err)
	}
	want := asked
	want.IssuedAt = time.Date(2026, 7, 28, 12, 0, 1, 0, time.UTC)
	want.ExpiresAt = want.IssuedAt.Add(5 * time.Minute)
	if diff := cmp.Diff(want, issued); diff != "" {
		t.Errorf("issued (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(link, p.srv.URL+"/v/") || strings.Contains(link, "prod") || strings.Contains(link, "sec-existing-9") {
		t.Errorf("the link %q is not a sealed ticket under the public URL", link)
	}
	if code, _, _ := p.post(t, link, form(otherKey, teamValue), nil); code != http.StatusForbidden || p.store.count() != 0 {
		t.Fatalf("another account's key: %d, %d stored", code, p.store.count())
	}
	if code, _, page := p.post(t, link, form(makerKey, teamValue), nil); code != http.StatusOK || !strings.Contains(page, "was replaced") {
		t.Fatalf("the maker's key: %d %s", code, page)
	}
	if diff := cmp.Diff(want, p.store.calls[0].req); diff != "" {
		t.Errorf("Store got (-issued +got):\n%s", diff)
	}
	if _, _, err := p.team.Issue(asked, togetherapi.Sensitive{}); err == nil {
		t.Error("a link was issued for no caller")
	}
}

func TestARequestStateOpensOnlyForItsCallerToolAndArgumentsUntilItExpires(t *testing.T) {
	t.Parallel()
	p := newTeamPage(t, intake.TeamConfig{})
	maker := togetherapi.NewSensitive(makerKey)
	_, issued, err := p.team.Issue(intake.TeamRequest{Name: "prod/HF_TOKEN"}, maker)
	if err != nil {
		t.Fatal(err)
	}
	const tool = "request_secret_from_user"
	state, err := p.team.SealState(issued, maker, tool, "prod/HF_TOKEN", "read token")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(state, "prod") || strings.Contains(state, tool) {
		t.Errorf("the state %q can be read", state)
	}
	got, err := p.team.OpenState(state, maker, tool, "prod/HF_TOKEN", "read token")
	if err != nil || !got.IssuedAt.Equal(issued.IssuedAt) || !got.ExpiresAt.Equal(issued.ExpiresAt) {
		t.Fatalf("OpenState = %+v, %v; want the link's times %v and %v", got, err, issued.IssuedAt, issued.ExpiresAt)
	}
	flipped := []byte(state)
	flipped[len(flipped)/2] ^= 1
	for name, open := range map[string]func() error{
		"another caller's key": func() error {
			_, err := p.team.OpenState(state, togetherapi.NewSensitive(otherKey), tool, "prod/HF_TOKEN", "read token")
			return err
		},
		"no key": func() error {
			_, err := p.team.OpenState(state, togetherapi.Sensitive{}, tool, "prod/HF_TOKEN", "read token")
			return err
		},
		"another tool": func() error {
			_, err := p.team.OpenState(state, maker, "create_secret", "prod/HF_TOKEN", "read token")
			return err
		},
		"another name": func() error {
			_, err := p.team.OpenState(state, maker, tool, "prod/HF_TOKEN2", "read token")
			return err
		},
		"another description": func() error { _, err := p.team.OpenState(state, maker, tool, "prod/HF_TOKEN", ""); return err },
		"an altered state": func() error {
			_, err := p.team.OpenState(string(flipped), maker, tool, "prod/HF_TOKEN", "read token")
			return err
		},
		"a ticket": func() error {
			link, _, _ := p.team.Issue(intake.TeamRequest{Name: "prod/HF_TOKEN"}, maker)
			_, err := p.team.OpenState(link[strings.LastIndex(link, "/")+1:], maker, tool, "prod/HF_TOKEN", "read token")
			return err
		},
	} {
		if err := open(); !errors.Is(err, intake.ErrStateInvalid) {
			t.Errorf("%s: %v, want ErrStateInvalid", name, err)
		}
	}
	p.clock.Advance(10 * time.Minute)
	if _, err := p.team.OpenState(state, maker, tool, "prod/HF_TOKEN", "read token"); !errors.Is(err, intake.ErrStateExpired) {
		t.Errorf("at its expiry: %v, want ErrStateExpired", err)
	}
	if _, err := p.team.OpenState(state, togetherapi.NewSensitive(otherKey), tool, "prod/HF_TOKEN", "read token"); !errors.Is(err, intake.ErrStateInvalid) {
		t.Errorf("another caller's expired state: %v, want ErrStateInvalid, which tells nothing of it", err)
	}
}
