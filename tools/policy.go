package tools

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/together-secrets-mcp/together-secrets-mcp/internal/audit"
	"github.com/together-secrets-mcp/together-secrets-mcp/togetherapi"
)

// The operator's rules, which no call can bend: values only from the user
// (Selection.ValuesFromUserOnly), name scopes (Config.NamePrefixes) and the
// audit trail (Config.Audit). Each is enforced here, in one place, and each
// refusal names the setting that caused it.

// outcomeRefusedByPolicy is the outcome of a call an operator's rule refused.
const outcomeRefusedByPolicy = "refused_by_policy"

// errAuditUnwritable means a change was not sent because its audit line
// could not be written.
var errAuditUnwritable = errors.New("the audit log cannot be written")

// inScope reports whether the tools may act on the secret named name: every
// name when no prefix is set; otherwise a name longer than one of the
// prefixes that starts with it, spelled canonically (no empty, "." or ".."
// segment), since a name such as "prod/../x" may be read by someone, some
// day, as a path that leaves the prefix.
func (t *toolset) inScope(name string) bool {
	if len(t.cfg.NamePrefixes) == 0 {
		return true
	}
	if togetherapi.ValidateName("name", name) != nil {
		return false
	}
	for _, seg := range strings.Split(name, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
	}
	for _, p := range t.cfg.NamePrefixes {
		if len(name) > len(p) && strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// scopeWords says what the scope is and which setting sets it.
func (t *toolset) scopeWords() string {
	q := make([]string, len(t.cfg.NamePrefixes))
	for i, p := range t.cfg.NamePrefixes {
		q[i] = fmt.Sprintf("%q", p)
	}
	return fmt.Sprintf("names starting with %s, set by %s", strings.Join(q, " or "), t.advice.NamePrefix)
}

// scopeProblem says which rule of the scope a name the call gave breaks,
// worded to follow the argument's name; "" when the name is within it.
func (t *toolset) scopeProblem(name string) string {
	if t.inScope(name) {
		return ""
	}
	if togetherapi.ValidateName("name", name) != nil {
		return "is not a valid secret name"
	}
	for _, seg := range strings.Split(name, "/") {
		switch seg {
		case "":
			return `has an empty segment (a "/" at its start or end, or two in a row)`
		case ".", "..":
			return fmt.Sprintf("has a %q segment", seg)
		}
	}
	if slices.Contains(t.cfg.NamePrefixes, name) {
		return "is a prefix of the scope with nothing after it"
	}
	return "does not start with one of the scope's prefixes"
}

// outOfScope refuses a name the call itself gave that lies outside the
// scope, before anything is sent, and records the refusal. problem, from
// scopeProblem, says which rule it broke; the refusal then states them
// all, since any of them could be the next one broken.
func (t *toolset) outOfScope(ctx context.Context, rec *callRecord, e audit.Entry, field, problem string) *mcp.CallToolResult {
	rec.outcome = outcomeRefusedByPolicy
	t.auditRefusal(ctx, rec, e, "out of scope")
	q := make([]string, len(t.cfg.NamePrefixes))
	for i, p := range t.cfg.NamePrefixes {
		q[i] = fmt.Sprintf("%q", p)
	}
	fix := fmt.Sprintf("Choose a name within the scope, such as %q.", t.cfg.NamePrefixes[0]+"NAME")
	if field == "prefix" {
		fix = fmt.Sprintf("Give a prefix within the scope, such as %q.", t.cfg.NamePrefixes[0])
	}
	return mcp.NewToolResultError(fmt.Sprintf("Refused: %s %s. This server acts only on names that start with %s, have something after it, "+
		"and have no empty, \".\" or \"..\" segment (set by %s). Nothing was sent to Together. %s",
		field, problem, strings.Join(q, " or "), t.advice.NamePrefix, fix))
}

// notFoundInScope answers a lookup whose secret lies outside the scope
// exactly as one that found nothing, so that a caller learns nothing of
// secrets outside it.
func (t *toolset) notFoundInScope(ctx context.Context, rec *callRecord, e audit.Entry, what string) *mcp.CallToolResult {
	rec.outcome = outcomeRefusedByPolicy
	t.auditRefusal(ctx, rec, e, "out of scope")
	return t.noSuchSecretInScope(rec, what)
}

func (t *toolset) noSuchSecretInScope(rec *callRecord, what string) *mcp.CallToolResult {
	if rec.outcome == outcomeOK {
		rec.outcome = outcomeError
	}
	return mcp.NewToolResultError(fmt.Sprintf("Could not %s: no secret within this server's scope (%s) has that ID or name. Nothing was changed.", what, t.scopeWords()))
}

// lookupInScope finds the secret id names through c and checks it is in
// scope. It returns nil and the result to return when it is not, or is not
// found while a scope is set.
func (t *toolset) lookupInScope(ctx context.Context, c *togetherapi.Client, rec *callRecord, e audit.Entry, id string, op operation) (*togetherapi.Secret, *mcp.CallToolResult) {
	current, err := c.GetSecret(ctx, id)
	if err != nil {
		if len(t.cfg.NamePrefixes) > 0 && errors.Is(err, togetherapi.ErrNotFound) {
			return nil, t.noSuchSecretInScope(rec, op.what)
		}
		return nil, t.apiFailure(ctx, rec, op, &togetherapi.ChangeError{Effect: togetherapi.NotMade, Err: err})
	}
	if !t.inScope(current.Name) {
		return nil, t.notFoundInScope(ctx, rec, e, op.what)
	}
	return current, nil
}

// entry starts the audit line of a change this call makes.
func (t *toolset) entry(ctx context.Context, rec *callRecord, tool, action, secret string) audit.Entry {
	e := audit.Entry{Tool: tool, Action: action, Secret: secret}
	if t.cfg.Audit != nil {
		// Only for a trail: the identity costs allocations every call.
		// The client names itself: scrubbed, then cut, by the one helper.
		e.CallID, e.Caller, e.Client = rec.callID(), rec.caller, rec.scrubber().Bounded(clientOf(ctx), maxClientLen)
	}
	return e
}

// audited sends a change only once its attempt is in the audit trail, then
// records its outcome; without a trail it just sends. It returns
// errAuditUnwritable, and sends nothing, when the attempt cannot be
// written. A failure to write the outcome is noted on the call's result.
func (t *toolset) audited(ctx context.Context, rec *callRecord, e audit.Entry, send func() (secretID string, err error)) error {
	return t.auditedWhenSent(ctx, rec, e, func(attempt func(audit.Entry) error) (string, error) {
		if err := attempt(e); err != nil {
			return "", err
		}
		return send()
	})
}

// auditedWhenSent is audited for a change that learns only on its way
// whether it will send anything, such as an attach that finds the
// deployment already as asked: send calls attempt with the line to write
// just before it sends, and not at all when it sends nothing, in which case
// no line is written, since nothing was attempted. An error from attempt
// is for send to return at once.
func (t *toolset) auditedWhenSent(ctx context.Context, rec *callRecord, e audit.Entry, send func(attempt func(audit.Entry) error) (secretID string, err error)) error {
	if t.cfg.Audit == nil {
		_, err := send(func(audit.Entry) error { return nil })
		return err
	}
	attempted := false
	attempt := func(line audit.Entry) error {
		line.Phase = "attempt"
		if err := t.cfg.Audit.Write(ctx, scrubEntry(line, rec.scrubber())); err != nil && ctx.Err() != nil {
			// The caller gave up while the line was written: nothing was sent,
			// which a ChangeError that made nothing says to the wording of
			// failures.
			return &togetherapi.ChangeError{Effect: togetherapi.NotMade, Err: ctx.Err()}
		} else if err != nil {
			t.cfg.Logger.Error().Str("tool", line.Tool).Str("audit_log", t.cfg.Audit.Path()).Str("error", err.Error()).Msg("audit line not written; the change was not sent")
			return errAuditUnwritable
		}
		e, attempted = line, true
		return nil
	}
	id, err := send(attempt)
	if !attempted {
		return err
	}
	e.Phase, e.SecretID, e.Outcome = "outcome", id, auditOutcome(err)
	if info := togetherapi.CallInfoFrom(ctx); info != nil {
		e.RequestID = info.RequestID
	}
	// The outcome is written even if the caller has gone: the change may
	// have been made.
	if werr := t.cfg.Audit.Write(context.WithoutCancel(ctx), scrubEntry(e, rec.scrubber())); werr != nil {
		t.cfg.Logger.Error().Str("tool", e.Tool).Str("audit_log", t.cfg.Audit.Path()).Str("error", werr.Error()).Msg("audit line of an outcome not written")
		rec.auditLost.Store(true)
	}
	return err
}

// auditRefusal records a change an operator's rule refused. Nothing was
// sent, so a line that cannot be written changes nothing; it is logged.
func (t *toolset) auditRefusal(ctx context.Context, rec *callRecord, e audit.Entry, reason string) {
	if t.cfg.Audit == nil || e.Tool == "" {
		return
	}
	e.Phase, e.Outcome, e.Reason = "refused", "refused", reason
	if err := t.cfg.Audit.Write(context.WithoutCancel(ctx), scrubEntry(e, rec.scrubber())); err != nil {
		t.cfg.Logger.Error().Str("tool", e.Tool).Str("audit_log", t.cfg.Audit.Path()).Str("error", err.Error()).Msg("audit line of a refusal not written")
	}
}

// auditRefused is the result of a change not sent for want of its audit line.
func (t *toolset) auditRefused(rec *callRecord, what string) *mcp.CallToolResult {
	rec.outcome = outcomeRefusedByPolicy
	return mcp.NewToolResultError(fmt.Sprintf("Refused to %s: the audit log (%s) cannot be written, and this server sends no change it cannot record. "+
		"Nothing was sent to Together. Tell the operator; retry once the log is writable.", what, t.advice.AuditLog))
}

// scrubEntry passes every text of an audit line through the call's
// scrubber, as every other text the server writes: a name the caller chose
// may hold the key, and an ID or reference read back may hold a value.
func scrubEntry(e audit.Entry, s togetherapi.Scrubber) audit.Entry {
	for _, f := range []*string{&e.Secret, &e.SecretID, &e.NewName, &e.Deployment, &e.Variable, &e.Reason, &e.Client, &e.RequestID} {
		*f = s.Scrub(*f)
	}
	return e
}

// auditOutcome says what a change did, by the rule the wording of its
// failure follows too (togetherapi.EffectOf): "failed" only when nothing
// was sent or Together said it did not make the change.
func auditOutcome(err error) string {
	switch togetherapi.EffectOf(err) {
	case togetherapi.Made:
		return "ok"
	case togetherapi.MayHaveBeenMade:
		return "unknown"
	}
	return "failed"
}

// callID returns the call's random identifier, made on first use.
func (rec *callRecord) callID() string {
	if rec.id == "" {
		var b [8]byte
		_, _ = rand.Read(b[:])
		rec.id = hex.EncodeToString(b[:])
	}
	return rec.id
}

// maxClientLen bounds the client's name and version in an audit line.
const maxClientLen = 128

// clientOf names the MCP client, as it named itself: per request from
// 2026-07-28, at initialize before.
func clientOf(ctx context.Context) string {
	var c *mcp.Implementation
	if info := server.RequestProtocolInfoFromContext(ctx); info != nil && info.ClientInfo != nil && info.ClientInfo.Name != "" {
		c = info.ClientInfo
	} else if s, ok := server.ClientSessionFromContext(ctx).(server.SessionWithClientInfo); ok {
		ci := s.GetClientInfo()
		c = &ci
	}
	if c == nil || c.Name == "" {
		return ""
	}
	return strings.ToValidUTF8(strings.TrimSpace(c.Name+" "+c.Version), "")
}

// takesNoValue guards a tool under values-from-user-only: a call sent any
// argument the tool does not take (a value under any spelling of "value",
// under another name, or as a name) is refused before the tool reads it,
// naming the setting and quoting no argument name, since a value can be
// sent as one.
func (t *toolset) takesNoValue(tool string, allowed []string, h handlerFunc) handlerFunc {
	return func(ctx context.Context, deps Deps, req mcp.CallToolRequest, rec *callRecord) *mcp.CallToolResult {
		args := rec.args
		if rec.argsErr != nil {
			return h(ctx, deps, req, rec) // the tool's own reading refuses them, and says why
		}
		unknown := 0
		for k := range args {
			if !slices.Contains(allowed, k) {
				unknown++
			}
		}
		if unknown == 0 {
			return h(ctx, deps, req, rec)
		}
		rec.outcome = outcomeRefusedByPolicy
		e := t.entry(ctx, rec, tool, "refused", secretNamed(args, rec.scrubber()))
		if _, ok := args["id"]; ok {
			e.NewName = textArgument(args, "name", rec.scrubber()) // beside an id, a name renames
		}
		t.auditRefusal(ctx, rec, e, "an argument the tool does not take, which may carry a value")
		return mcp.NewToolResultError(fmt.Sprintf("Refused: %s was sent %d argument(s) it does not take; it takes %s. "+
			"The operator set %s, so no tool takes a value: a value reaches Together only through request_secret_from_user or import_env_file. Nothing was sent to Together.",
			tool, unknown, strings.Join(allowed, ", "), t.advice.ValuesFromUserOnly))
	}
}

// secretNamed returns the secret a call's arguments name, for the audit
// line of a call refused before its tool read them: the first of id,
// secret and name that is text. Only those are read, never an argument
// that may carry a value, and what is read is scrubbed, then cut.
func secretNamed(args map[string]json.RawMessage, s togetherapi.Scrubber) string {
	for _, k := range []string{"id", "secret", "name"} {
		if v := textArgument(args, k, s); v != "" {
			return v
		}
	}
	return ""
}

// textArgument returns the argument key if it is text, scrubbed, then cut
// to the longest name or ID a tool takes.
func textArgument(args map[string]json.RawMessage, key string, s togetherapi.Scrubber) string {
	var v string
	if raw, ok := args[key]; !ok || json.Unmarshal(raw, &v) != nil {
		return ""
	}
	return s.Bounded(v, maxIDLength)
}

// rulesText says which rules are in force, for the server's instructions.
func (c Config) rulesText() string {
	var rules []string
	if c.Tools.ValuesFromUserOnly {
		rules = append(rules, "values come only from the user: no tool takes a value as an argument; use request_secret_from_user or import_env_file")
	}
	if len(c.NamePrefixes) > 0 {
		rules = append(rules, "only secrets whose names start with "+strings.Join(c.NamePrefixes, " or ")+" can be seen or changed")
	}
	if c.Audit != nil {
		rules = append(rules, "every change is recorded in an audit log first, and refused if it cannot be")
	}
	if c.Tools.ReadOnly {
		rules = append(rules, "read-only: nothing can be changed")
	}
	if len(rules) == 0 {
		return ""
	}
	return " Rules set by the operator, which no request can change: " + strings.Join(rules, "; ") + "."
}
