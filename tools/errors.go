package tools

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/together-secrets-mcp/together-secrets-mcp/togetherapi"
)

// invalidArguments is the tool error for arguments that were refused before
// anything was sent.
func invalidArguments(tool string, rec *callRecord, err error) *mcp.CallToolResult {
	rec.outcome = outcomeInvalid
	if errors.Is(err, togetherapi.ErrNoChange) {
		err = &togetherapi.FieldError{Field: "arguments", Problem: "change nothing: give at least one of name, value or description"}
	}
	return mcp.NewToolResultError(fmt.Sprintf("Invalid arguments for %s: %s. Nothing was sent to Together.", tool, err))
}

// apiFailure turns an error from the client into a tool error that tells the
// agent what happened and what to do next. what describes the operation, as
// in `create secret "X"`.
func apiFailure(ctx context.Context, rec *callRecord, what string, err error) *mcp.CallToolResult {
	rec.outcome = outcomeError
	var (
		unknownErr *togetherapi.OutcomeUnknownError
		apiErr     *togetherapi.APIError
		timeoutErr *togetherapi.TimeoutError
		netErr     *togetherapi.TransportError
		fieldErr   *togetherapi.FieldError
		msg        string
	)
	switch {
	case errors.Is(err, togetherapi.ErrNoAPIKey):
		rec.outcome = outcomeUnavailable
		msg = "No Together API key is configured, so nothing was sent. " +
			"Set TOGETHER_API_KEY (or TOGETHER_API_KEY_FILE) in the \"env\" of this server's entry in the MCP client's configuration, then restart the server. " +
			"To try the tools without a key, start the server with --sandbox."
	case errors.As(err, &fieldErr):
		rec.outcome = outcomeInvalid
		msg = fmt.Sprintf("Could not %s: %s. Nothing was sent to Together.", what, fieldErr)
	case isCancelled(ctx, err):
		rec.outcome = outcomeCancelled
		msg = fmt.Sprintf("Could not %s: the call was cancelled before Together answered. It may or may not have taken effect; check before retrying.", what)
	case errors.As(err, &unknownErr):
		msg = fmt.Sprintf("Could not tell whether %s took effect: %s.", what, describeLoss(unknownErr.Err))
		if unknownErr.Detail != "" {
			msg += " To check: " + unknownErr.Detail + "."
		}
	case errors.As(err, &timeoutErr):
		msg = fmt.Sprintf("Could not %s: Together did not answer within %s. It may or may not have taken effect; check before retrying.", what, timeoutErr.Timeout)
	case errors.As(err, &netErr):
		msg = fmt.Sprintf("Could not %s: Together at %s could not be reached (%s). Check the network and TOGETHER_BASE_URL, then retry.", what, netErr.Host, netErr)
	case errors.Is(err, togetherapi.ErrResponseTooLarge):
		msg = fmt.Sprintf("Could not %s: Together's answer was larger than %d bytes and was not read. Check whether it took effect before retrying.", what, togetherapi.MaxResponseBytes)
	case errors.Is(err, togetherapi.ErrMalformedResponse):
		msg = fmt.Sprintf("Together reported success for %s but its response could not be read, so it probably took effect; check before retrying.", what)
	case errors.As(err, &apiErr):
		msg = describeAPIError(what, apiErr)
	default:
		msg = fmt.Sprintf("Could not %s: %s.", what, err)
	}
	return mcp.NewToolResultError(msg)
}

// secretFailure is apiFailure for a call that names one secret, where a 404
// means there is no such secret.
func secretFailure(ctx context.Context, rec *callRecord, what string, err error) *mcp.CallToolResult {
	if errors.Is(err, togetherapi.ErrNotFound) {
		rec.outcome = outcomeError
		return mcp.NewToolResultError(fmt.Sprintf("Could not %s: no secret has that ID or name. Use list_secrets to find it.", what))
	}
	return apiFailure(ctx, rec, what, err)
}

// describeLoss says what left an outcome unknown.
func describeLoss(err error) string {
	var (
		apiErr     *togetherapi.APIError
		timeoutErr *togetherapi.TimeoutError
	)
	switch {
	case errors.As(err, &timeoutErr):
		return fmt.Sprintf("Together did not answer within %s", timeoutErr.Timeout)
	case errors.As(err, &apiErr):
		return fmt.Sprintf("Together answered HTTP %d (%s), which does not say", apiErr.StatusCode, strings.TrimSuffix(apiErr.Message, "."))
	}
	return "the connection to Together broke after the request was sent"
}

// describeAPIError explains a non-2xx answer by what the agent can do about it.
func describeAPIError(what string, e *togetherapi.APIError) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Could not %s: Together answered HTTP %d", what, e.StatusCode)
	if e.Message != "" && e.Message != http.StatusText(e.StatusCode) {
		fmt.Fprintf(&b, " (%s)", strings.TrimSuffix(e.Message, "."))
	}
	b.WriteString(". ")
	switch {
	case errors.Is(e, togetherapi.ErrUnauthorized):
		b.WriteString("The API key was rejected: check that TOGETHER_API_KEY holds a current key from the Together dashboard (Settings > API keys), then restart the server.")
	case errors.Is(e, togetherapi.ErrForbidden):
		b.WriteString("The API key is not allowed to manage secrets: use a key of a project with access to deployments.")
	case errors.Is(e, togetherapi.ErrAlreadyExists):
		b.WriteString("A secret with that name already exists: choose another name, or change the existing secret instead.")
	case errors.Is(e, togetherapi.ErrNotFound):
		// Create and list address no single secret: a 404 means a wrong root.
		b.WriteString("Check that TOGETHER_BASE_URL is Together's API root, such as " + togetherapi.DefaultBaseURL + ".")
	case errors.Is(e, togetherapi.ErrRateLimited):
		wait := "a few seconds"
		if e.RetryAfter > 0 {
			wait = e.RetryAfter.String()
		}
		fmt.Fprintf(&b, "Together is rate limiting this key: wait %s, then retry.", wait)
	case errors.Is(e, togetherapi.ErrServer):
		b.WriteString("This is a fault on Together's side. It may or may not have taken effect; check before retrying in a moment.")
	case errors.Is(e, togetherapi.ErrRedirect):
		b.WriteString("Nothing was sent to the redirect's target. Check that TOGETHER_BASE_URL is Together's API root, such as " + togetherapi.DefaultBaseURL + ".")
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
