package tools

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/together-secrets-mcp/together-secrets-mcp/intake"
	"github.com/together-secrets-mcp/together-secrets-mcp/internal/audit"
	"github.com/together-secrets-mcp/together-secrets-mcp/togetherapi"
)

// NewTeamPage returns the team-mode page of request_secret_from_user
// (intake.Team), storing by cfg's rules: this replica's own name scope is
// checked again, a link is used once, and the audit trail has a line for
// every submission, the lines of a change written as a tool's are. base is
// the client a store's is made from, with the key typed on the page; page
// is the page's configuration but for its Store and Record, which this
// fills in.
func NewTeamPage(cfg Config, base *togetherapi.Client, page intake.TeamConfig) (*intake.Team, error) {
	t := &toolset{cfg: cfg, advice: cfg.Advice.withDefaults()}
	page.Store = func(ctx context.Context, r intake.TeamRequest, key, value togetherapi.Sensitive) (*togetherapi.Secret, error) {
		return t.storeFromPage(ctx, base.WithAPIKey(key), r, value)
	}
	page.Record = t.recordPage
	return intake.NewTeam(page)
}

// pageEntry starts the audit line of a page submission for link r, named
// as the call that made the link named its own.
func pageEntry(r intake.TeamRequest) audit.Entry {
	e := audit.Entry{Tool: teamLinkTool, Action: "create", Secret: r.Name, CallID: r.CallID, Caller: r.Caller}
	if r.Replace {
		e.Action, e.SecretID = "rotate", r.SecretID
	}
	return e
}

// pageError is a failure to store, worded for the page, that a caller may
// still ask for its cause.
type pageError struct {
	msg string
	err error
}

func (e *pageError) Error() string { return e.msg }

func (e *pageError) Unwrap() error { return e.err }

// storeFromPage stores value, typed on the page with the key c holds, as
// link r asks: a create, refused when the name is taken; or a new value,
// sent only while the secret's updated_at is the one sealed in the link
// and earlier than the second the link was made. So a link is used once,
// on any replica, with nothing kept: what its use changed refuses the next.
func (t *toolset) storeFromPage(ctx context.Context, c *togetherapi.Client, r intake.TeamRequest, value togetherapi.Sensitive) (*togetherapi.Secret, error) {
	rec := &callRecord{caller: r.Caller, id: r.CallID, scrub: append(c.KeyScrubber(), value)}
	var info togetherapi.CallInfo
	ctx = togetherapi.WithCallInfo(ctx, &info)
	e := pageEntry(r)
	if !t.inScope(r.Name) {
		return nil, t.refusePage(ctx, rec, e, "out of scope", fmt.Sprintf("The secret %s is outside the names this server may change (%s).", r.Name, t.scopeWords()))
	}
	var (
		op   operation
		send func(context.Context) (*togetherapi.Secret, error)
		err  error
	)
	if r.Replace {
		op, send, err = t.pageReplace(ctx, c, rec, e, r, value)
	} else {
		op, send, err = t.pageCreate(ctx, c, r, value)
	}
	if err != nil {
		return nil, err
	}
	var s *togetherapi.Secret
	err = t.audited(ctx, rec, e, func() (string, error) {
		var err error
		s, err = send(ctx)
		return idOf(s), err
	})
	switch {
	case errors.Is(err, errAuditUnwritable):
		return nil, &pageError{msg: "The audit log cannot be written, and this server sends no change it cannot record, so the value was not sent. Tell the operator, then try again.", err: err}
	case err != nil:
		_, msg := t.describeFailure(ctx, op, err)
		return nil, &pageError{msg: rec.scrubber().Scrub(msg), err: err}
	}
	if s.Name == "" {
		s.Name = r.Name
	}
	return s, nil
}

// pageCreate is the create a create link makes, unless its name is taken:
// then the link, or another way, has stored it already.
func (t *toolset) pageCreate(ctx context.Context, c *togetherapi.Client, r intake.TeamRequest, value togetherapi.Sensitive) (
	operation, func(context.Context) (*togetherapi.Secret, error), error) {
	op := operation{what: fmt.Sprintf("create secret %q", r.Name), write: true}
	all, err := c.ListSecrets(ctx)
	switch {
	case err != nil:
		return op, nil, t.pageLookupFailed(ctx, op, err)
	case findNamed(all, r.Name) != nil:
		return op, nil, intake.ErrNameTaken
	}
	create := togetherapi.CreateSecretRequest{Name: r.Name, Value: value, Description: r.Description}
	if err := create.Validate(); err != nil {
		return op, nil, t.pageLookupFailed(ctx, op, err)
	}
	return op, func(ctx context.Context) (*togetherapi.Secret, error) { return c.CreateSecret(ctx, create) }, nil
}

// pageReplace is the update a link to replace a value makes, while the
// secret is as the link found it.
func (t *toolset) pageReplace(ctx context.Context, c *togetherapi.Client, rec *callRecord, e audit.Entry, r intake.TeamRequest, value togetherapi.Sensitive) (
	operation, func(context.Context) (*togetherapi.Secret, error), error) {
	op := operation{what: fmt.Sprintf("replace the value of secret %q", r.Name), write: true, oneSecret: true}
	current, err := c.GetSecret(ctx, r.SecretID)
	switch {
	case errors.Is(err, togetherapi.ErrNotFound):
		return op, nil, intake.ErrSecretChanged // deleted since
	case err != nil:
		return op, nil, t.pageLookupFailed(ctx, op, &togetherapi.ChangeError{Effect: togetherapi.NotMade, Err: err})
	case !t.inScope(current.Name):
		return op, nil, t.refusePage(ctx, rec, e, "out of scope", fmt.Sprintf("The secret %s is now outside the names this server may change (%s).", r.Name, t.scopeWords()))
	case current.UpdatedAt != r.UpdatedAt:
		return op, nil, intake.ErrSecretChanged
	}
	if changed, err := time.Parse(time.RFC3339Nano, r.UpdatedAt); err != nil || changed.Unix() >= r.IssuedAt.Unix() {
		// A change through this link could keep updated_at as it is, and
		// a second use would then be taken for a first.
		return op, nil, t.refusePage(ctx, rec, e, "the link was made in the second of the secret's last change",
			fmt.Sprintf("This link was made in the same second as the last change of %s, so a second use of it could not be told from the first. Ask your assistant for a new link.", r.Name))
	}
	upd := togetherapi.UpdateSecretRequest{Value: value}
	if r.Description != "" {
		upd.Description = &r.Description
	}
	if err := upd.Validate(); err != nil {
		return op, nil, t.pageLookupFailed(ctx, op, err)
	}
	return op, func(ctx context.Context) (*togetherapi.Secret, error) { return c.UpdateSecretOf(ctx, current, upd) }, nil
}

// pageLookupFailed words a failure before anything was recorded or sent.
func (t *toolset) pageLookupFailed(ctx context.Context, op operation, err error) error {
	_, msg := t.describeFailure(ctx, op, err)
	return &pageError{msg: msg, err: err}
}

// refusePage records a submission a rule refused, and the refusal the
// page shows.
func (t *toolset) refusePage(ctx context.Context, rec *callRecord, e audit.Entry, reason, words string) error {
	t.auditRefusal(ctx, rec, e, reason)
	return &intake.RefusedError{Reason: words}
}

// recordPage writes the audit line of a submission that sent nothing and
// that the store did not record itself: a key that is not the link
// maker's, a decline, and a link used already. The line holds only what
// the link itself holds, nothing typed on the page.
func (t *toolset) recordPage(ctx context.Context, ev intake.TeamEvent) {
	var reason string
	switch ev.Outcome {
	case intake.TeamKeyMismatch:
		reason = "key mismatch: the API key typed on the page is not the one of the account that made the link"
	case intake.TeamDeclined:
		reason = "declined on the page"
	case intake.TeamReplayRefused:
		reason = "replay: the link was used already (the secret exists, or changed since the link was made)"
	default:
		return
	}
	t.auditRefusal(ctx, &callRecord{caller: ev.Request.Caller, id: ev.Request.CallID}, pageEntry(ev.Request), reason)
}
