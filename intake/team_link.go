package intake

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"time"

	"github.com/together-secrets-mcp/together-secrets-mcp/internal/linkseal"
	"github.com/together-secrets-mcp/together-secrets-mcp/togetherapi"
)

// TeamRequest is what a team link asks for, as the call that made it saw
// it: the part of a sealed ticket its caller reads and writes. The link
// keys, and the fingerprint of the caller's key, stay with the Team.
type TeamRequest struct {
	// Replace says the link gives a new value to the existing secret
	// SecretID, whose updated_at was UpdatedAt, as Together gave it, when
	// the link was made; otherwise the link creates a secret.
	Replace bool
	// Name is the secret's; Description, optional, is stored with it.
	Name, Description string
	// SecretID and UpdatedAt are set for Replace alone.
	SecretID, UpdatedAt string
	// CallID and Caller name the call that made the link, as its audit
	// lines and its log event name it.
	CallID, Caller string
	// IssuedAt and ExpiresAt are when the link was made and when it stops
	// working, in whole seconds; Issue sets them.
	IssuedAt, ExpiresAt time.Time
}

// ticket is r sealed for the caller fp.
func (r TeamRequest) ticket(fp linkseal.Fingerprint) linkseal.Ticket {
	t := linkseal.Ticket{Action: linkseal.Create, Name: r.Name, Description: r.Description, CallID: r.CallID, Caller: r.Caller,
		Fingerprint: fp, IssuedAt: r.IssuedAt.Unix(), ExpiresAt: r.ExpiresAt.Unix()}
	if r.Replace {
		t.Action, t.SecretID, t.UpdatedAt = linkseal.Update, r.SecretID, r.UpdatedAt
	}
	return t
}

// requestOf is what an opened ticket asks for.
func requestOf(t linkseal.Ticket) TeamRequest {
	return TeamRequest{Replace: t.Action == linkseal.Update, Name: t.Name, Description: t.Description, SecretID: t.SecretID,
		UpdatedAt: t.UpdatedAt, CallID: t.CallID, Caller: t.Caller, IssuedAt: time.Unix(t.IssuedAt, 0).UTC(), ExpiresAt: t.Expires().UTC()}
}

// Issue makes a link for r, sealed for the caller whose API key is apiKey,
// made now and working for the TTL: the link, and r as sealed, with its
// times. It keeps nothing: any replica with the same link keys serves the
// link.
func (p *Team) Issue(r TeamRequest, apiKey togetherapi.Sensitive) (string, TeamRequest, error) {
	if apiKey.IsZero() {
		return "", TeamRequest{}, errors.New("intake: a team link is made for a caller's API key, and none was given")
	}
	r.IssuedAt = p.cfg.Now().UTC().Truncate(time.Second)
	r.ExpiresAt = r.IssuedAt.Add(p.cfg.TTL).Truncate(time.Second)
	sealed, err := p.cfg.Keys.SealTicket(r.ticket(p.cfg.Keys.Fingerprint(apiKey)))
	if err != nil {
		return "", TeamRequest{}, fmt.Errorf("intake: sealing a team link: %w", err)
	}
	return p.Link(sealed), r, nil
}

// Errors OpenState returns.
var (
	// ErrStateInvalid: the state was not sealed by these link keys for this
	// caller, tool and arguments. Which of them differs is not said.
	ErrStateInvalid = errors.New("intake: the request state was not made for this call")
	// ErrStateExpired: the state is this call's, and past its expiry.
	ErrStateExpired = errors.New("intake: the request state has expired")
)

// TeamState is what an opened request state tells of the link it waits
// on.
type TeamState struct {
	// IssuedAt and ExpiresAt are the link's, in whole seconds.
	IssuedAt, ExpiresAt time.Time
}

// SealState seals the state a client carries to the retry of a call that
// made link r (an MCP requestState): the caller, by a fingerprint of
// apiKey, the tool, its arguments in order, and r's times. Any replica
// with the same link keys opens it.
func (p *Team) SealState(r TeamRequest, apiKey togetherapi.Sensitive, tool string, args ...string) (string, error) {
	s := linkseal.RequestState{Tool: tool, Args: linkseal.ArgsDigest(args...), Fingerprint: p.cfg.Keys.Fingerprint(apiKey),
		IssuedAt: r.IssuedAt.Unix(), ExpiresAt: r.ExpiresAt.Unix()}
	sealed, err := p.cfg.Keys.SealRequestState(s)
	if err != nil {
		return "", fmt.Errorf("intake: sealing a request state: %w", err)
	}
	return sealed, nil
}

// OpenState opens a retry's state: ErrStateInvalid, before anything in it
// is read, unless these link keys sealed it for apiKey's caller, tool and
// args (so that neither another caller nor an altered state gets further);
// then ErrStateExpired once it has expired; else the link's times.
func (p *Team) OpenState(sealed string, apiKey togetherapi.Sensitive, tool string, args ...string) (TeamState, error) {
	s, err := p.cfg.Keys.OpenRequestState(sealed, p.cfg.Now())
	if err != nil && !errors.Is(err, linkseal.ErrExpired) {
		return TeamState{}, ErrStateInvalid
	}
	want := linkseal.ArgsDigest(args...)
	if !p.cfg.Keys.Verify(s.Generation(), s.Fingerprint, apiKey) || s.Tool != tool || subtle.ConstantTimeCompare(s.Args[:], want[:]) != 1 {
		return TeamState{}, ErrStateInvalid
	}
	st := TeamState{IssuedAt: time.Unix(s.IssuedAt, 0).UTC(), ExpiresAt: time.Unix(s.ExpiresAt, 0).UTC()}
	if err != nil {
		return st, ErrStateExpired
	}
	return st, nil
}
