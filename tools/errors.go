package tools

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/together-secrets-mcp/together-secrets-mcp/togetherapi"
)

// Advice names, in the user's words, the settings an error message may tell
// them to change. The program fills it in from where each setting came
// from, so that this package never guesses a flag or a variable.
type Advice struct {
	// KeySource says where the API key came from, such as "the
	// TOGETHER_API_KEY environment variable" or "the key file /run/key".
	KeySource string
	// SetKey says how to configure a key when there is none.
	SetKey string
	// RejectedKey says what to do when Together rejects the key, to the
	// one who can change it: the operator of a stdio server, or the caller
	// of an HTTP one.
	RejectedKey string
	// BaseURL names the API root setting, such as "TOGETHER_BASE_URL".
	BaseURL string
	// ReadOnly, Tools, AllowDelete and EnvFile name the settings that choose
	// the tools, for the error a tool that is not offered gives.
	ReadOnly, Tools, AllowDelete, EnvFile string
	// AllowDeploymentChanges names the setting that offers attach_secret.
	AllowDeploymentChanges string
	// ValuesFromUserOnly, NamePrefix and AuditLog name the operator's rules,
	// for the refusals they cause.
	ValuesFromUserOnly, NamePrefix, AuditLog string
	// PublicURL names the setting that serves the value page over HTTP.
	PublicURL string
}

// withDefaults fills what the program left empty with generic words.
func (a Advice) withDefaults() Advice {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&a.KeySource, "the configured API key")
	def(&a.SetKey, "Configure a Together API key for this server, then restart it.")
	def(&a.RejectedKey, fmt.Sprintf("check that %s holds a current key from the Together dashboard (Settings > API keys), then restart the server.", a.KeySource))
	def(&a.BaseURL, "the API base URL setting")
	def(&a.ReadOnly, "the read-only setting")
	def(&a.Tools, "the tools setting")
	def(&a.AllowDelete, "the allow-delete setting")
	def(&a.EnvFile, "the env-file setting")
	def(&a.AllowDeploymentChanges, "the allow-deployment-changes setting")
	def(&a.ValuesFromUserOnly, "the values-from-user-only setting")
	def(&a.NamePrefix, "the name-prefix setting")
	def(&a.AuditLog, "the audit-log setting")
	def(&a.PublicURL, "the public-url setting")
	return a
}

// operation describes a client call for error messages.
type operation struct {
	// what is the operation in words, as in `create secret "X"`.
	what string
	// write says the call changes something, so a lost answer leaves it
	// unknown whether it did.
	write bool
	// oneSecret says the call names one secret, so a 404 means there is no
	// such secret rather than a wrong API root.
	oneSecret bool
	// oneDeployment says the call names one deployment, and one secret
	// whose lookup failed, if any, came back as a *ChangeError that made
	// nothing.
	oneDeployment bool
}

// invalidArguments is the tool error for arguments that were refused before
// anything was sent.
func invalidArguments(tool string, rec *callRecord, err error) *mcp.CallToolResult {
	rec.outcome = outcomeInvalid
	msg := fmt.Sprintf("Invalid arguments for %s: %s. Nothing was sent to Together.", tool, err)
	if holdsValue(err) {
		msg += " Choose a name and description that do not hold the value, or another value."
	}
	return mcp.NewToolResultError(msg)
}

// holdsValue reports whether err refuses a name or description for holding
// the secret value.
func holdsValue(err error) bool {
	var fe *togetherapi.FieldError
	return errors.As(err, &fe) && fe.HoldsValue
}

// apiFailure turns an error from the client into a tool error that tells the
// agent what happened and what to do next. It says a change may have taken
// effect only when one may have: never for a read, nor for a change that
// failed while looking its secret up.
func (t *toolset) apiFailure(ctx context.Context, rec *callRecord, op operation, err error) *mcp.CallToolResult {
	outcome, msg := t.describeFailure(ctx, op, err)
	rec.outcome = outcome
	return mcp.NewToolResultError(msg)
}

// describeFailure words an error from the client for the agent, and says
// which outcome to log it with.
func (t *toolset) describeFailure(ctx context.Context, op operation, err error) (outcome, msg string) {
	outcome = outcomeError
	var (
		changeErr *togetherapi.ChangeError
		fieldErr  *togetherapi.FieldError
	)
	what, adv := op.what, t.advice
	check, notSent := retryWords(op, err)
	switch {
	case (op.oneSecret || op.oneDeployment && lookupFailed(err)) && errors.Is(err, togetherapi.ErrNotFound):
		msg = fmt.Sprintf("Could not %s: no secret has that ID or name. Use list_secrets to find it.", what)
	case op.oneDeployment && errors.Is(err, togetherapi.ErrNotFound):
		msg = fmt.Sprintf("Could not %s: no deployment has that ID or name. Check its name in the Together dashboard. Nothing was changed.", what)
	case errors.Is(err, togetherapi.ErrNoAPIKey):
		outcome = outcomeUnavailable
		msg = "No Together API key is configured, so nothing was sent. " + adv.SetKey
	case errors.As(err, &fieldErr):
		outcome = outcomeInvalid
		msg = fmt.Sprintf("Could not %s: %s. Nothing was sent to Together.", what, fieldErr)
		if fieldErr.HoldsValue {
			msg += " Choose a name and description that do not hold the value, or another value."
		}
	case isCancelled(ctx, err):
		outcome = outcomeCancelled
		msg = fmt.Sprintf("Could not %s: the call was cancelled before Together answered. %s", what, check)
	case errors.As(err, &changeErr) && changeErr.Effect == togetherapi.MayHaveBeenMade:
		msg = describeUnknown(what, changeErr)
	default:
		msg = t.describeAnswer(what, op.write, err, check, notSent)
	}
	return outcome, msg
}

// describeAnswer words a failure by what came back from Together: no
// answer in time, none at all, one that could not be read, or one that
// refused. check and notSent are retryWords' words for it.
func (t *toolset) describeAnswer(what string, write bool, err error, check string, notSent bool) string {
	var (
		apiErr    *togetherapi.APIError
		netErr    *togetherapi.TransportError
		malformed *togetherapi.MalformedError
	)
	switch {
	case errors.As(err, &netErr) && netErr.Timeout > 0:
		return fmt.Sprintf("Could not %s: Together did not answer within %s. %s", what, netErr.Timeout, check)
	case errors.As(err, &netErr):
		return fmt.Sprintf("Could not %s: Together at %s could not be reached (%s). Check the network and %s, then retry.", what, netErr.Host, netErr, t.advice.BaseURL)
	case errors.As(err, &malformed) && malformed.Limit > 0:
		return fmt.Sprintf("Could not %s: Together's answer was larger than %d bytes and was not read. %s", what, malformed.Limit, check)
	case errors.As(err, &malformed):
		return fmt.Sprintf("Could not %s: Together answered, but not with the JSON expected%s. %s", what, malformedDetail(malformed), check)
	case errors.As(err, &apiErr):
		return t.describeAPIError(what, apiErr, write, notSent)
	}
	return fmt.Sprintf("Could not %s: %s.", what, err)
}

// retryWords says what a failure means for a retry: for a change, by the
// rule its audit line's outcome follows too (togetherapi.EffectOf), so that
// the two never disagree. notSent says a change failed before it was sent.
func retryWords(op operation, err error) (words string, notSent bool) {
	switch {
	case !op.write:
		return "Retry.", false
	case togetherapi.EffectOf(err) == togetherapi.MayHaveBeenMade:
		return "It may or may not have taken effect; check before retrying.", false
	case lookupFailed(err):
		return "The change was not sent, so nothing changed; retry.", true
	}
	return "It was not made; retry.", false
}

// lookupFailed reports whether err is a change's failure to find what it
// changes, before anything was sent.
func lookupFailed(err error) bool {
	var e *togetherapi.ChangeError
	return errors.As(err, &e) && e.Effect == togetherapi.NotMade
}

// describeUnknown words a change whose outcome is unknown, and how to
// check it.
func describeUnknown(what string, e *togetherapi.ChangeError) string {
	msg := fmt.Sprintf("Could not tell whether %s took effect: %s.", what, e.Lost)
	if e.Detail != "" {
		msg += " " + upperFirst(e.Detail) + "."
	}
	if e.Name != "" {
		msg += fmt.Sprintf(" To check: list the secrets; if %q is there with a created_at after %s, it was created, and if not, create it again.",
			e.Name, e.Since.UTC().Format(time.RFC3339))
	} else {
		msg += " Check before retrying."
	}
	return msg
}

// malformedDetail says how an answer differed from the JSON expected,
// where the client could tell.
func malformedDetail(e *togetherapi.MalformedError) string {
	if e.Detail != "" {
		return " (" + e.Detail + ")"
	}
	return ""
}

// upperFirst capitalises the first letter of a sentence.
func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// describeAPIError explains a non-2xx answer by what the agent can do about it.
func (t *toolset) describeAPIError(what string, e *togetherapi.APIError, write, notSent bool) string {
	adv := t.advice
	var b strings.Builder
	fmt.Fprintf(&b, "Could not %s: Together answered HTTP %d", what, e.StatusCode)
	if e.Message != "" && e.Message != http.StatusText(e.StatusCode) {
		fmt.Fprintf(&b, " (%s)", strings.TrimSuffix(e.Message, "."))
	}
	b.WriteString(". ")
	switch {
	case errors.Is(e, togetherapi.ErrUnauthorized):
		b.WriteString("The API key was rejected: " + adv.RejectedKey)
	case errors.Is(e, togetherapi.ErrForbidden):
		b.WriteString("The API key is not allowed to do this: use a key of a project with access to deployments and their secrets.")
	case errors.Is(e, togetherapi.ErrAlreadyExists):
		b.WriteString("A secret with that name already exists: choose another name, or change the existing secret instead.")
	case errors.Is(e, togetherapi.ErrNotFound):
		// Create and list address no single secret: a 404 means a wrong root.
		fmt.Fprintf(&b, "Check that %s is Together's API root, such as %s.", adv.BaseURL, togetherapi.DefaultBaseURL)
	case errors.Is(e, togetherapi.ErrRateLimited):
		switch {
		case e.RetryAfter >= togetherapi.RetryAfterCap:
			b.WriteString("Together is rate limiting this key and asked to wait a day or more: retry much later, or contact Together support.")
		case e.RetryAfter > 0:
			fmt.Fprintf(&b, "Together is rate limiting this key: wait %s, then retry.", e.RetryAfter)
		default:
			b.WriteString("Together is rate limiting this key: wait a few seconds, then retry.")
		}
	case errors.Is(e, togetherapi.ErrServer):
		// A lost answer to a change never comes here: it is a
		// ChangeError that may have been made.
		switch {
		case notSent:
			b.WriteString("This is a fault on Together's side; the change was not sent, so nothing changed: retry in a moment.")
		case write:
			b.WriteString("This is a fault on Together's side, and the change was not made: retry in a moment.")
		default:
			b.WriteString("This is a fault on Together's side: retry in a moment.")
		}
	case errors.Is(e, togetherapi.ErrRedirect):
		fmt.Fprintf(&b, "Nothing was sent to the redirect's target. Check that %s is Together's API root, such as %s.", adv.BaseURL, togetherapi.DefaultBaseURL)
	case e.StatusCode == http.StatusBadRequest || e.StatusCode == http.StatusUnprocessableEntity:
		b.WriteString("Together refused the request as invalid: fix the arguments as the message says, then retry.")
	default:
		b.WriteString("Retry later; if it persists, contact Together support.")
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, " (Together request id: %s)", e.RequestID)
	}
	return b.String()
}
