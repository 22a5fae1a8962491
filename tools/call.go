package tools

import (
	"context"
	"encoding/json"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/rs/zerolog"

	"github.com/together-secrets-mcp/together-secrets-mcp/togetherapi"
)

// callRecord is one tool call's own: its arguments, decoded once, what it
// must never output, and what it reports for its log event.
type callRecord struct {
	// args are the call's arguments, decoded once by the wrapper, or
	// argsErr why they could not be; value is the "value" argument, wrapped
	// once and in scrub from the start.
	args    arguments
	argsErr error
	value   togetherapi.Sensitive

	secret  string // the secret's name, never its value
	file    string // the dotenv file read, if any
	outcome string
	// kept are strings the caller sent, or built from what it sent, which
	// come back exactly as sent wherever they stand whole in a result:
	// withholding one would tell the caller it holds a value.
	kept map[string]bool
	// scrub is every string this call must never output: its client's key
	// from the start, then the values the call handles. Never a plain value
	// of a deployment's variable: the client keeps those out of the text
	// Together sends, and scrubbing the server's own text of them would
	// tell the caller whether a guess it put there equals one.
	scrub  togetherapi.Scrubber
	caller string // the call's Deps.Caller
	// fault names a bug of the server itself that refused the call, for
	// the operator: never anything the caller sent.
	fault string
	// id is the call's audit identifier; auditLost says an outcome's audit
	// line could not be written.
	id        string
	auditLost atomic.Bool
}

// Outcomes a call is logged with.
const (
	outcomeOK          = "ok"
	outcomeInvalid     = "invalid_arguments"
	outcomeError       = "error"
	outcomeCancelled   = "cancelled"
	outcomePanic       = "panic"
	outcomeUnavailable = "not_configured"
	// A call the server could not serve for a bug of its own, such as a
	// transport that gave it no Deps.
	outcomeFault      = "server_fault"
	outcomeNotOffered = "not_offered"
	// A change refused because a deployment uses the secret, or because
	// that could not be checked.
	outcomeRefused = "refused_in_use"
	// A call that asked the client for input, and one the user declined.
	outcomeInputRequired = "input_required"
	outcomeDeclined      = "declined"
)

// wrap turns h into an mcp-go handler that resolves the call's Deps once,
// recovers panics, scrubs the result of every sensitive value, and logs one
// event for the call. A call whose context carries no client, which only a
// transport's bug can make, is refused before h runs when needsClient says
// h talks to Together.
func (t *toolset) wrap(name string, h handlerFunc, needsClient bool) server.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (result *mcp.CallToolResult, err error) {
		start := time.Now()
		var info togetherapi.CallInfo
		deps := DepsFrom(ctx)
		rec := &callRecord{outcome: outcomeOK, caller: deps.Caller}
		if deps.Client != nil {
			rec.scrub = deps.Client.KeyScrubber()
		}
		rec.keepArguments(req)
		info.OnRetry = func(ev togetherapi.RetryEvent) {
			// Logged as it happens; the call's own event comes at the end.
			// Every text field is scrubbed: the op's path holds an ID or
			// name, the reason a transport error's text.
			scrub := rec.scrubber()
			t.cfg.Logger.Info().Str("tool", name).Str("secret", scrub.Scrub(rec.secret)).Str("op", scrub.Scrub(ev.Op)).
				Int("attempt", ev.Attempt).Int("http_status", ev.StatusCode).Str("reason", scrub.Scrub(ev.Reason)).
				Dur("wait_ms", ev.Wait).Msg("retrying")
		}
		ctx = togetherapi.WithCallInfo(ctx, &info)

		defer func() {
			if p := recover(); p != nil {
				// The panic value may hold anything, a value included: it is
				// neither returned nor logged. The stack holds no string data.
				rec.outcome = outcomePanic
				result = mcp.NewToolResultError(name + " failed with an internal error. " +
					"If it may have reached Together, check the secret's state before retrying.")
				t.cfg.Logger.Error().Str("tool", name).Bytes("stack", debug.Stack()).Msg("tool handler panicked")
			}
			if result != nil && info.Resolution != "" {
				// How an ambiguous answer was settled: the agent should know.
				result.Content = append(result.Content, mcp.NewTextContent("Note: "+info.Resolution+"."))
			}
			if result != nil && rec.auditLost.Load() {
				result.Content = append(result.Content, mcp.NewTextContent("Note: the change was sent, but its outcome could not be written to the audit log; tell the operator."))
			}
			result = scrubResult(result, rec.scrubber(), rec.kept)
			t.logCall(name, rec, &info, time.Since(start), result)
		}()
		if needsClient && deps.Client == nil {
			return noDeps(name, rec), nil
		}
		return h(ctx, deps, req, rec), nil
	}
}

// noDeps refuses a call whose transport forgot WithDeps: a clear error for
// the agent, and for the operator the call's log event names the bug.
func noDeps(name string, rec *callRecord) *mcp.CallToolResult {
	rec.outcome = outcomeFault
	rec.fault = "the transport gave the call no tools.Deps; it must add them with tools.WithDeps"
	return mcp.NewToolResultError(name + " could not run: this server is misconfigured and has no connection to Together for this call. " +
		"Nothing was sent to Together. Tell the operator; the server's log names the fault.")
}

// keep marks strings as the caller's own, returned as sent.
func (rec *callRecord) keep(s ...string) {
	if rec.kept == nil {
		rec.kept = map[string]bool{}
	}
	for _, x := range s {
		if x != "" {
			rec.kept[x] = true
		}
	}
}

// keepArguments decodes the call's arguments, once, for its tool to read,
// and keeps every string argument the caller sent, and each string of an
// array argument, but the value: that is wrapped, the one time it is, and
// goes into the call's scrub set before anything else can quote it (an
// error about another argument among them).
func (rec *callRecord) keepArguments(req mcp.CallToolRequest) {
	rec.args, rec.argsErr = decodeArguments(req)
	for k, raw := range rec.args {
		if k == "value" {
			var s string
			if json.Unmarshal(raw, &s) == nil && s != "" {
				rec.value = togetherapi.NewSensitive(s)
				rec.scrub = append(rec.scrub, rec.value)
			}
			continue
		}
		switch jsonKind(raw) {
		case "a string":
			var s string
			if json.Unmarshal(raw, &s) == nil {
				rec.keep(s)
			}
		case "an array":
			var a []any
			_ = json.Unmarshal(raw, &a)
			for _, e := range a {
				if s, ok := e.(string); ok {
					rec.keep(s)
				}
			}
		}
	}
}

// scrubber is every sensitive string the call must never output: its own
// values and its Deps' ones, such as the API key.
func (rec *callRecord) scrubber() togetherapi.Scrubber { return rec.scrub }

// scrubResult removes the call's sensitive values and the configured ones
// from every text in r: a last line of defence behind the handlers' own care.
// Free text is scrubbed; structured content is metadata, whose string values
// are withheld whole where they carry a value (togetherapi's field rule),
// never torn, and whose keys are never touched, so the result keeps the
// shape and the usable IDs its output schema promises.
//
// Every structured result here comes from structuredResult, whose first
// text is the structured content's JSON: when that text holds nothing, no
// field carries anything, and nothing needs decoding again.
func scrubResult(r *mcp.CallToolResult, all togetherapi.Scrubber, kept map[string]bool) *mcp.CallToolResult {
	if r == nil || len(all) == 0 {
		return r
	}
	for i, c := range r.Content {
		tc, ok := c.(mcp.TextContent)
		if !ok {
			continue
		}
		scrubbed := all.Scrub(tc.Text)
		if scrubbed == tc.Text {
			continue // it holds nothing
		}
		if i == 0 && r.StructuredContent != nil {
			var v any
			if err := json.Unmarshal([]byte(tc.Text), &v); err != nil {
				return mcp.NewToolResultError("could not encode the result: " + err.Error())
			}
			r.StructuredContent = withholdStrings(v, "", all, kept)
			b, _ := json.Marshal(r.StructuredContent)
			tc.Text = string(b)
		} else {
			tc.Text = scrubbed
		}
		r.Content[i] = tc
	}
	return r
}

// withholdStrings replaces with [Redacted] every string value in a decoded
// JSON document that carries a sensitive string, but for the metadata fields
// whose shape cannot carry one and the strings the caller sent (kept). key
// is the value's key in its object.
func withholdStrings(v any, key string, s togetherapi.Scrubber, kept map[string]bool) any {
	switch v := v.(type) {
	case string:
		if !kept[v] && s.Withholds(key, v) {
			return togetherapi.Redacted
		}
	case map[string]any:
		for k, e := range v {
			v[k] = withholdStrings(e, k, s, kept)
		}
	case []any:
		for i, e := range v {
			v[i] = withholdStrings(e, "", s, kept)
		}
	}
	return v
}

func (t *toolset) logCall(name string, rec *callRecord, info *togetherapi.CallInfo, d time.Duration, r *mcp.CallToolResult) {
	level := zerolog.InfoLevel
	switch {
	case rec.fault != "":
		level = zerolog.ErrorLevel
	case rec.outcome != outcomeOK:
		level = zerolog.WarnLevel
	}
	ev := t.cfg.Logger.WithLevel(level).
		Str("tool", name).
		Str("outcome", rec.outcome).
		Int("http_status", info.StatusCode).
		Int("requests", info.Requests).
		Int("attempts", info.Attempts).
		Dur("duration_ms", d)
	// Every text field is scrubbed: the name the caller gave may hold the
	// value, and the request id and resolution come from the API. The
	// request id has also been cut to its shape by togetherapi.
	scrub := rec.scrubber()
	if rec.secret != "" {
		ev = ev.Str("secret", scrub.Scrub(rec.secret))
	}
	if rec.file != "" {
		ev = ev.Str("file", rec.file)
	}
	if rec.caller != "" {
		ev = ev.Str("caller", rec.caller)
	}
	if rec.fault != "" {
		ev = ev.Str("fault", rec.fault)
	}
	if info.RequestID != "" {
		ev = ev.Str("request_id", scrub.Scrub(info.RequestID))
	}
	if info.Resolution != "" {
		ev = ev.Str("resolution", scrub.Scrub(info.Resolution))
	}
	if r != nil && r.IsError && len(r.Content) > 0 {
		if tc, ok := r.Content[0].(mcp.TextContent); ok {
			// Already scrubbed by scrubResult.
			ev = ev.Str("error", tc.Text)
		}
	}
	ev.Msg("tool call")
}
