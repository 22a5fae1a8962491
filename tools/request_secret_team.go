package tools

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/together-secrets-mcp/together-secrets-mcp/intake"
	"github.com/together-secrets-mcp/together-secrets-mcp/togetherapi"
)

// request_secret_from_user in HTTP mode: a link to the team page, sealed
// for the caller's key, that any replica serves; the user types the value
// and that key on it. Nothing is kept: a 2026-07-28 client's retry carries
// a sealed state back, and learns what came of the link from Together.

// DefaultTeamWait is how long a retry waits for the value to arrive: below
// the idle timeout of the load balancers in front (60 s on most), so that
// the retry is answered rather than cut.
const DefaultTeamWait = 10 * time.Second

// maxChangeWait bounds how long a link waits for this server's clock to
// pass the second of the secret's last change.
const maxChangeWait = 2 * time.Second

// teamLinkTool is the tool whose calls the request state binds.
const teamLinkTool = "request_secret_from_user"

// requestOnTeamPage answers request_secret_from_user over HTTP, where
// t.cfg.Team serves the page. name and desc are checked and in scope.
func (t *toolset) requestOnTeamPage(ctx context.Context, deps Deps, req mcp.CallToolRequest, rec *callRecord, name, desc string) *mcp.CallToolResult {
	key := callerKey(deps.Client)
	if req.Params.RequestState != "" || req.Params.InputResponses != nil {
		return t.resumeTeamRequest(ctx, deps.Client, req, rec, key, name, desc)
	}
	// The page shows the name and the description to whoever opens the
	// link; the caller's key has no place there.
	if keys := deps.Client.KeyScrubber(); keys.Scrub(name) != name || keys.Scrub(desc) != desc {
		rec.outcome = outcomeInvalid
		return mcp.NewToolResultError(fmt.Sprintf("Invalid arguments for %s: the name or the description holds the API key this call was made with, "+
			"and the page shows both to whoever opens the link. Nothing was sent to Together; choose a name and description without it.", teamLinkTool))
	}
	all, err := deps.Client.ListSecrets(ctx)
	if err != nil {
		return t.apiFailure(ctx, rec, operation{what: fmt.Sprintf("look up secret %q before asking for its value", name)}, err)
	}
	r := intake.TeamRequest{Name: name, Description: desc, CallID: rec.callID(), Caller: rec.caller}
	if existing := findNamed(all, name); existing != nil {
		r.Replace, r.SecretID, r.UpdatedAt = true, existing.ID, existing.UpdatedAt
		if res := t.waitOutChange(ctx, rec, existing); res != nil {
			return res
		}
	}
	link, r, err := t.cfg.Team.Issue(r, key)
	if err != nil {
		rec.outcome = outcomeFault
		rec.fault = err.Error()
		return mcp.NewToolResultError(fmt.Sprintf("Could not make the link for the value: %s. Nothing was sent to Together.", err))
	}
	// Only a client that asks for the input in the result itself, and
	// retries, gets it there: stateless HTTP cannot carry the request an
	// older client would have to be sent.
	if server.IsModernRequest(ctx) && supportsURLElicitation(ctx) {
		state, err := t.cfg.Team.SealState(r, key, teamLinkTool, name, desc)
		if err != nil {
			rec.outcome = outcomeFault
			rec.fault = err.Error()
			return mcp.NewToolResultError(fmt.Sprintf("Could not make the link for the value: %s. Nothing was sent to Together.", err))
		}
		rec.outcome = outcomeInputRequired
		return server.NewInputRequestBuilder(state).Elicit(elicitationKey, mcp.ElicitationParams{
			Mode:          mcp.ElicitationModeURL,
			Message:       fmt.Sprintf("Enter the value of the secret %s on this page, with the API key of the Together account it goes to. The assistant never sees either.", name),
			ElicitationID: rec.callID(),
			URL:           link,
		}).ToolResult()
	}
	return teamLinkResult(r, link)
}

// teamLinkResult hands the link to the agent, with what to do with it.
func teamLinkResult(r intake.TeamRequest, link string) *mcp.CallToolResult {
	action := "create"
	if r.Replace {
		action = "replace"
	}
	out := requestResult{Status: "waiting_for_user", Action: action, Name: r.Name, URL: link, ExpiresAt: r.ExpiresAt.Format(time.RFC3339)}
	res := structuredResult(out)
	res.Content = append(res.Content, mcp.NewTextContent(fmt.Sprintf(
		"Show the user this link, to enter the value of %s in their browser with the API key of the Together account this server was called with: %s\n"+
			"It works until %s and will %s the secret; a second value through it is refused. The value goes from that page to Together, and you never see it. "+
			"Once the user says they submitted it, confirm with get_secret.",
		r.Name, link, out.ExpiresAt, action)))
	return res
}

// waitOutChange waits, before a link to replace a value is sealed, until
// this server's clock is past the second of the secret's last change: the
// API's times are whole seconds, and the page tells a link already used by
// an updated_at later than the second the link was made. A time it cannot
// read, or one its clock does not pass within maxChangeWait, makes no link.
func (t *toolset) waitOutChange(ctx context.Context, rec *callRecord, s *togetherapi.Secret) *mcp.CallToolResult {
	changed, err := time.Parse(time.RFC3339Nano, s.UpdatedAt)
	if err != nil {
		rec.outcome = outcomeError
		return mcp.NewToolResultError(fmt.Sprintf("Could not make a link to replace the value of %s: Together gave no updated_at this server can read for it, "+
			"and without one a link already used could be used again. Nothing was sent to Together; change the secret's value another way.", s.Name))
	}
	giveUp := time.Now().Add(maxChangeWait)
	for changed.Unix() >= t.cfg.Team.Now().Unix() {
		now := t.cfg.Team.Now()
		if time.Now().After(giveUp) {
			rec.outcome = outcomeError
			return mcp.NewToolResultError(fmt.Sprintf("Could not make a link to replace the value of %s yet: it changed at %s, a time this server's clock has not passed, "+
				"and a link made before then could be used twice. Nothing was sent to Together; call again in a few seconds.", s.Name, s.UpdatedAt))
		}
		select {
		case <-ctx.Done():
			rec.outcome = outcomeCancelled
			return mcp.NewToolResultError(fmt.Sprintf("The call was cancelled before a link for %s was made. Nothing was sent to Together.", s.Name))
		case <-time.After(max(now.Truncate(time.Second).Add(time.Second).Sub(now), 10*time.Millisecond)):
		}
	}
	return nil
}

// resumeTeamRequest answers a 2026-07-28 client's retry: refused before
// anything is read unless its state is this caller's, for this call; then,
// if the user accepted, whether the value has arrived, waiting a while.
func (t *toolset) resumeTeamRequest(ctx context.Context, c *togetherapi.Client, req mcp.CallToolRequest, rec *callRecord, key togetherapi.Sensitive, name, desc string) *mcp.CallToolResult {
	st, err := t.cfg.Team.OpenState(req.Params.RequestState, key, teamLinkTool, name, desc)
	switch {
	case errors.Is(err, intake.ErrStateExpired):
		rec.outcome = outcomeError
		return mcp.NewToolResultError(fmt.Sprintf("The link for %s expired at %s. Nothing was read or sent. If the value is still needed, call %s again, without a requestState, for a new link.",
			name, st.ExpiresAt.Format(time.RFC3339), teamLinkTool))
	case err != nil:
		rec.outcome = outcomeInvalid
		return mcp.NewToolResultError(fmt.Sprintf("Refused: this requestState was not made by this server for this call (the same caller, tool, name and description), "+
			"or it was changed. Nothing was read or sent. Call %s again, without a requestState, for a new link.", teamLinkTool))
	}
	answer := server.ElicitationResponse(req.Params.InputResponses, elicitationKey)
	switch {
	case answer == nil:
		rec.outcome = outcomeInvalid
		return mcp.NewToolResultError(fmt.Sprintf("The retry of %s carries no answer to the input %q it asked for. Nothing was read or sent. "+
			"Retry with the user's answer in inputResponses, or confirm with get_secret once the user says they submitted the value.", teamLinkTool, elicitationKey))
	case answer.Action != mcp.ElicitationResponseActionAccept:
		rec.outcome = outcomeDeclined
		res := structuredResult(requestResult{Status: "declined", Name: name})
		res.Content = append(res.Content, mcp.NewTextContent(fmt.Sprintf("The user declined to enter the value of %s (%s); nothing was sent to Together. "+
			"The link stays valid until %s, since no replica keeps it, but it stores nothing without the API key of your account. Do not ask again unless the user wants to.",
			name, answer.Action, st.ExpiresAt.Format(time.RFC3339))))
		return res
	}
	return t.awaitTeamValue(ctx, c, rec, name, st)
}

// awaitTeamValue reads Together, with the caller's key, until the secret
// named name has been stored since the link was made, for at most the
// team wait; then it returns the secret, or says the value has not arrived
// yet and how to check.
func (t *toolset) awaitTeamValue(ctx context.Context, c *togetherapi.Client, rec *callRecord, name string, st intake.TeamState) *mcp.CallToolResult {
	giveUp := time.Now().Add(cmp.Or(t.cfg.TeamWait, DefaultTeamWait))
	for {
		all, err := c.ListSecrets(ctx)
		if err != nil {
			return t.apiFailure(ctx, rec, operation{what: fmt.Sprintf("check whether the value of %q has arrived", name)}, err)
		}
		if s := findNamed(all, name); s != nil && changedSince(s.UpdatedAt, st.IssuedAt) {
			action := "replace"
			if changedSince(s.CreatedAt, st.IssuedAt) {
				action = "create"
			}
			return structuredResult(requestResult{Status: "stored", Action: action, Name: name, Secret: s})
		}
		left := time.Until(giveUp)
		if left <= 0 {
			break
		}
		select {
		case <-ctx.Done():
			rec.outcome = outcomeCancelled
			return mcp.NewToolResultError(fmt.Sprintf("Stopped waiting for the value of %s: the call was cancelled. If the user submits it later it is still stored; get_secret tells.", name))
		case <-time.After(min(time.Second, left)):
		}
	}
	res := structuredResult(requestResult{Status: "waiting_for_user", Name: name, ExpiresAt: st.ExpiresAt.Format(time.RFC3339)})
	res.Content = append(res.Content, mcp.NewTextContent(fmt.Sprintf("The value of %s has not arrived yet. The link works until %s. "+
		"Once the user says they submitted it, confirm with get_secret; nothing else needs to be called.", name, st.ExpiresAt.Format(time.RFC3339))))
	return res
}

// changedSince reports whether stamp, a time Together gave, is in the
// second t is in, or later: a secret changed since a link made at t was
// changed through it, or after, since a link that replaces a value is made
// only after the second of its secret's last change.
func changedSince(stamp string, t time.Time) bool {
	u, err := time.Parse(time.RFC3339Nano, stamp)
	return err == nil && u.Unix() >= t.Unix()
}

// findNamed returns the secret of all named name, or nil.
func findNamed(all []togetherapi.Secret, name string) *togetherapi.Secret {
	for i := range all {
		if all[i].Name == name {
			return &all[i]
		}
	}
	return nil
}

// callerKey is the key of the caller a client speaks for. The client
// shows it only as a scrubber: a link names its caller by a MAC of it.
func callerKey(c *togetherapi.Client) togetherapi.Sensitive {
	if keys := c.KeyScrubber(); len(keys) == 1 {
		return keys[0]
	}
	return togetherapi.Sensitive{}
}
