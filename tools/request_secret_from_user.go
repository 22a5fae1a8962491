package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/together-secrets-mcp/together-secrets-mcp/intake"
	"github.com/together-secrets-mcp/together-secrets-mcp/togetherapi"
)

var requestSecretArgs = params{
	{name: "name", typ: "string", minLen: 1, maxLen: togetherapi.NameMaxLength, pattern: togetherapi.NamePattern,
		desc: "e.g. HF_TOKEN or prod/openai-key", required: true},
	{name: "description", typ: "string", maxLen: togetherapi.DescriptionMaxLength, desc: "What it is for; shown to the user."},
}

var requestSecretOutputSchema = json.RawMessage(`{
  "type": "object",
  "properties": {
    "status": {"type": "string", "enum": ["stored", "waiting_for_user", "declined"]},
    "action": {"type": "string", "enum": ["create", "replace"]},
    "name": {"type": "string"},
    "url": {"type": "string"},
    "expires_at": {"type": "string"},
    "secret": {"type": "object"}
  },
  "required": ["status", "name"]
}`)

func (t *toolset) requestSecretFromUser() tool {
	x := define("request_secret_from_user", "Ask user for a secret",
		"The user types a secret's value on a one-time page in their browser; you never see it. "+
			"Creates the secret or replaces its value. Prefer this to asking for a value in chat.",
		requestSecretArgs, requestSecretOutputSchema, hints{destructive: true})
	x.handle, x.byDefault, x.needsIntake = t.handleRequestSecret, true, true
	return x
}

// requestResult is request_secret_from_user's structured result.
type requestResult struct {
	Status    string              `json:"status"`
	Action    string              `json:"action,omitempty"`
	Name      string              `json:"name"`
	URL       string              `json:"url,omitempty"`
	ExpiresAt string              `json:"expires_at,omitempty"`
	Secret    *togetherapi.Secret `json:"secret,omitempty"`
}

// elicitationKey names the one input this tool asks the client for.
const elicitationKey = "value_page"

func (t *toolset) handleRequestSecret(ctx context.Context, deps Deps, req mcp.CallToolRequest, rec *callRecord) *mcp.CallToolResult {
	const toolName = "request_secret_from_user"
	name, desc, err := parseRequestSecret(rec)
	if err != nil {
		return invalidArguments(toolName, rec, err)
	}
	rec.secret = name
	e := t.entry(ctx, rec, toolName, "create", name)
	if p := t.scopeProblem(name); p != "" {
		return t.outOfScope(ctx, rec, e, "name", p)
	}
	if t.cfg.Team != nil {
		return t.requestOnTeamPage(ctx, deps, req, rec, name, desc)
	}
	if t.cfg.Intake == nil {
		rec.outcome = outcomeNotOffered
		return mcp.NewToolResultError(toolName + " is not available here: the one-time page is served by the stdio server on the user's machine, or over HTTP once the operator sets " + t.advice.PublicURL + ".")
	}
	// The second leg: the client answered the URL elicitation.
	if state := req.Params.RequestState; state != "" || req.Params.InputResponses != nil {
		return t.resumeRequest(ctx, req, rec, name, state)
	}

	client := deps.Client
	all, err := client.ListSecrets(ctx)
	if err != nil {
		return t.apiFailure(ctx, rec, operation{what: fmt.Sprintf("look up secret %q before asking for its value", name)}, err)
	}
	var existing *togetherapi.Secret
	for i := range all {
		if all[i].Name == name {
			existing = &all[i]
			break
		}
	}
	action := "create"
	if existing != nil {
		action = "replace"
	}
	if existing != nil {
		e.Action, e.SecretID = "rotate", existing.ID
	}
	// The submission comes after this call has returned: its audit lines
	// and its words belong to a record of their own, with this call's
	// identity and scrub set (the key, which a name the caller chose may
	// hold), to which the value typed on the page is added.
	caller, id, keys := rec.caller, rec.callID(), slices.Clip(rec.scrubber())
	store := func(sctx context.Context, value togetherapi.Sensitive) (*togetherapi.Secret, error) {
		page := &callRecord{caller: caller, id: id, scrub: append(keys, value)}
		var s *togetherapi.Secret
		op, send, err := pageChange(client, existing, name, desc, value)
		if err == nil {
			err = t.audited(sctx, page, e, func() (string, error) {
				var err error
				s, err = send(sctx)
				return idOf(s), err
			})
		}
		if errors.Is(err, errAuditUnwritable) {
			return nil, errors.New("the audit log cannot be written, and this server sends no change it cannot record, so the value was not sent; tell the operator, then try again")
		}
		if err != nil {
			_, msg := t.describeFailure(sctx, op, err)
			return nil, errors.New(page.scrubber().Scrub(msg))
		}
		if s.Name == "" {
			s.Name = name
		}
		return s, nil
	}
	ticket, err := t.cfg.Intake.Issue(intake.Request{Name: name, Description: desc, Replace: existing != nil,
		ExistingID: map[bool]string{true: idOf(existing)}[existing != nil], Store: store})
	if err != nil {
		rec.outcome = outcomeError
		return mcp.NewToolResultError(fmt.Sprintf("Could not open the page for the value: %s. Nothing was sent to Together.", err))
	}
	if supportsURLElicitation(ctx) {
		rec.outcome = outcomeInputRequired
		return server.NewInputRequestBuilder(ticket.ID).Elicit(elicitationKey, mcp.ElicitationParams{
			Mode:          mcp.ElicitationModeURL,
			Message:       fmt.Sprintf("Enter the value of the secret %s on this page. It goes to Together only; the assistant never sees it.", name),
			ElicitationID: ticket.ID,
			URL:           ticket.URL,
		}).ToolResult()
	}
	out := requestResult{Status: "waiting_for_user", Action: action, Name: name, URL: ticket.URL, ExpiresAt: ticket.ExpiresAt.Format(time.RFC3339)}
	res := structuredResult(out)
	res.Content = append(res.Content, mcp.NewTextContent(fmt.Sprintf(
		"Give the user this link, to enter the value of %s in their browser: %s\n"+
			"It works once, until %s; it will %s the secret. The value goes from that page to Together, and you never see it. "+
			"Once the user says they submitted it, the secret exists: get_secret confirms it.",
		name, ticket.URL, out.ExpiresAt, action)))
	return res
}

// pageChange is the change a value typed on the page makes: a replace of
// existing's value, or a create. The request is checked by the API's
// rules, the one time it is, before anything is recorded or sent: the
// value was typed after the name and description were read.
func pageChange(c *togetherapi.Client, existing *togetherapi.Secret, name, desc string, value togetherapi.Sensitive) (
	operation, func(context.Context) (*togetherapi.Secret, error), error) {
	if existing != nil {
		upd := togetherapi.UpdateSecretRequest{Value: value}
		if desc != "" {
			upd.Description = &desc
		}
		return operation{what: fmt.Sprintf("replace the value of secret %q", name), write: true, oneSecret: true},
			func(ctx context.Context) (*togetherapi.Secret, error) { return c.UpdateSecretOf(ctx, existing, upd) }, upd.Validate()
	}
	create := togetherapi.CreateSecretRequest{Name: name, Value: value, Description: desc}
	return operation{what: fmt.Sprintf("create secret %q", name), write: true},
		func(ctx context.Context) (*togetherapi.Secret, error) { return c.CreateSecret(ctx, create) }, create.Validate()
}

// parseRequestSecret reads the name and description the page is for.
func parseRequestSecret(rec *callRecord) (name, desc string, err error) {
	r := readArguments(rec, requestSecretArgs)
	name = r.str("name")
	r.check(togetherapi.ValidateName("name", name))
	desc, _ = r.optStr("description")
	r.check(togetherapi.ValidateDescription(desc))
	return name, desc, r.err()
}

// resumeRequest finishes a call whose client answered the URL elicitation:
// on accept it waits for the user's submission; on decline or cancel the
// link dies at once and nothing is sent.
func (t *toolset) resumeRequest(ctx context.Context, req mcp.CallToolRequest, rec *callRecord, name, state string) *mcp.CallToolResult {
	ticket, ok := t.cfg.Intake.Ticket(state)
	answer := server.ElicitationResponse(req.Params.InputResponses, elicitationKey)
	if !ok || answer == nil {
		rec.outcome = outcomeError
		return mcp.NewToolResultError("This request for a value is unknown or has ended. Call request_secret_from_user again for a new link.")
	}
	if answer.Action != mcp.ElicitationResponseActionAccept {
		ticket.Cancel()
		rec.outcome = outcomeDeclined
		res := structuredResult(requestResult{Status: "declined", Name: name})
		res.Content = append(res.Content, mcp.NewTextContent(fmt.Sprintf("The user declined to enter the value of %s (%s); the link is dead and nothing was sent to Together.", name, answer.Action)))
		return res
	}
	secret, err := ticket.Wait(ctx)
	switch {
	case isCancelled(ctx, err) || errors.Is(err, context.Canceled):
		rec.outcome = outcomeCancelled
		return mcp.NewToolResultError(fmt.Sprintf("Stopped waiting for the value of %s: the call was cancelled. If the user submits it later it is still stored; get_secret tells.", name))
	case errors.Is(err, intake.ErrDeclined):
		rec.outcome = outcomeDeclined
		res := structuredResult(requestResult{Status: "declined", Name: name})
		res.Content = append(res.Content, mcp.NewTextContent(fmt.Sprintf("The user pressed Decline on the page for %s; the link is dead and nothing was sent to Together. Do not ask again unless the user wants to.", name)))
		return res
	case errors.Is(err, intake.ErrExpired):
		rec.outcome = outcomeError
		return mcp.NewToolResultError(fmt.Sprintf("The link for %s expired before the user submitted a value; nothing was sent to Together. Call request_secret_from_user again for a new link.", name))
	case err != nil:
		rec.outcome = outcomeError
		return mcp.NewToolResultError(fmt.Sprintf("The link for %s was cancelled; nothing was sent to Together.", name))
	}
	if !server.IsModernRequest(ctx) {
		// Before 2026-07-28, URL mode ends with this notification.
		if srv := server.ServerFromContext(ctx); srv != nil {
			_ = srv.SendElicitationComplete(ctx, server.ClientSessionFromContext(ctx), ticket.ID)
		}
	}
	action := "create"
	if ticket.Replace() {
		action = "replace"
	}
	return structuredResult(requestResult{Status: "stored", Action: action, Name: name, Secret: secret})
}

// supportsURLElicitation reports whether the client declared URL-mode
// elicitation: per request from 2026-07-28, at initialize before.
func supportsURLElicitation(ctx context.Context) bool {
	if info := server.RequestProtocolInfoFromContext(ctx); info != nil && info.Modern {
		c := info.ClientCapabilities
		return c != nil && c.Elicitation != nil && c.Elicitation.URL != nil
	}
	if s, ok := server.ClientSessionFromContext(ctx).(server.SessionWithClientInfo); ok {
		c := s.GetClientCapabilities()
		return c.Elicitation != nil && c.Elicitation.URL != nil
	}
	return false
}

func idOf(s *togetherapi.Secret) string {
	if s == nil {
		return ""
	}
	return s.ID
}
