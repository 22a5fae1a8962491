package togetherapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Errors a caller can test for with errors.Is. An *APIError matches the one
// its status stands for.
var (
	// ErrNoAPIKey means the client has no key; nothing was sent.
	ErrNoAPIKey = errors.New("togetherapi: no API key configured")
	// ErrUnauthorized matches a 401: the key is missing, wrong or revoked.
	ErrUnauthorized = errors.New("togetherapi: unauthorized")
	// ErrForbidden matches a 403: the key may not do this.
	ErrForbidden = errors.New("togetherapi: forbidden")
	// ErrNotFound matches a 404.
	ErrNotFound = errors.New("togetherapi: not found")
	// ErrAlreadyExists matches a 409, or a 400 that says the name is taken.
	ErrAlreadyExists = errors.New("togetherapi: already exists")
	// ErrRateLimited matches a 429.
	ErrRateLimited = errors.New("togetherapi: rate limited")
	// ErrServer matches any 5xx.
	ErrServer = errors.New("togetherapi: server error")
	// ErrRedirect matches a 3xx, which the client never follows.
	ErrRedirect = errors.New("togetherapi: redirect refused")
)

// Errors of a change to a deployment's variables. Either means nothing was
// sent.
var (
	// ErrDeploymentChanged means the deployment changed between the read
	// the change was built on and the moment it was to be sent: sending it
	// would have overwritten that change.
	ErrDeploymentChanged = errors.New("togetherapi: the deployment changed while the change was prepared")
	// ErrPlainVariable means a detach named a variable that holds a plain
	// value, which a detach never removes.
	ErrPlainVariable = errors.New("togetherapi: the variable holds a plain value, not a reference to a secret")
)

// errTimeoutCause marks the client's own deadline, so that it can be told
// apart from a caller's.
var errTimeoutCause = errors.New("togetherapi: call timed out")

// maxMessageLen bounds an error message taken from a response body.
const maxMessageLen = 500

// APIError is a non-2xx answer from the API. Its Message is scrubbed of the
// key and of any value the request carried.
type APIError struct {
	// StatusCode is the HTTP status.
	StatusCode int
	// Message is the API's own explanation, or a summary of the body when it
	// gave none that could be read.
	Message string
	// Type and Code are the API's error type and code, when it gave them.
	Type string
	Code string
	// RequestID identifies the response for Together's support, if given.
	RequestID string
	// RetryAfter is how long the API asked the caller to wait, if it did.
	RetryAfter time.Duration
	// Location is the host a redirect pointed to (never followed).
	Location string
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "togetherapi: HTTP %d", e.StatusCode)
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, " (request id %s)", e.RequestID)
	}
	return b.String()
}

// Is lets errors.Is match an APIError against the sentinel for its status.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrUnauthorized:
		return e.StatusCode == http.StatusUnauthorized
	case ErrForbidden:
		return e.StatusCode == http.StatusForbidden
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound
	case ErrAlreadyExists:
		return e.StatusCode == http.StatusConflict ||
			(e.StatusCode == http.StatusBadRequest && saysAlreadyExists(e.Message))
	case ErrRateLimited:
		return e.StatusCode == http.StatusTooManyRequests
	case ErrServer:
		return e.StatusCode >= 500 && e.StatusCode <= 599
	case ErrRedirect:
		return e.StatusCode >= 300 && e.StatusCode <= 399
	}
	return false
}

func saysAlreadyExists(msg string) bool {
	m := strings.ToLower(msg)
	return strings.Contains(m, "already exist") || strings.Contains(m, "duplicate")
}

// MalformedError is an answer the client cannot use: a 2xx that is not the
// JSON the call expects (another content type, not JSON, or a secret
// without an id), or any answer larger than the client reads.
type MalformedError struct {
	// Detail says how it differed, such as "HTTP 200 with content type
	// \"text/html\"", scrubbed; never the body. It is empty where the
	// answer was to hold a secret's metadata and did not.
	Detail string
	// Limit, when not zero, is the most the client reads of a body, in
	// bytes, which the answer's went past: it was not read.
	Limit int64
}

func (e *MalformedError) Error() string {
	switch {
	case e.Limit > 0:
		return fmt.Sprintf("togetherapi: response body exceeds %d bytes", e.Limit)
	case e.Detail == "":
		return "togetherapi: response is not the expected JSON object"
	}
	return "togetherapi: " + e.Detail + ": response is not the expected JSON object"
}

// isMalformed reports whether err is, or wraps, a *MalformedError for an
// answer that was read and is not the JSON expected.
func isMalformed(err error) bool {
	var e *MalformedError
	return errors.As(err, &e) && e.Limit == 0
}

// isTooLarge reports whether err is, or wraps, a *MalformedError for an
// answer too large to read.
func isTooLarge(err error) bool {
	var e *MalformedError
	return errors.As(err, &e) && e.Limit > 0
}

// ChangeError is a change that failed without Together saying plainly that
// it did not make it. Its Effect says at which step it failed, and so what
// it did:
//
//   - NotMade: finding what it changes, before anything was sent.
//   - MayHaveBeenMade: sending it, when its answer, or an earlier
//     attempt's, was lost (a timeout or a broken connection), or was a
//     gateway error that does not say.
//   - Made: reading the result back, after Together accepted it.
//
// EffectOf reads it. Err is the step's failure, so errors.Is and errors.As
// see through to it.
type ChangeError struct {
	Effect Effect
	Err    error

	// The rest say more of an answer that was lost (MayHaveBeenMade).

	// Op is the method and path, such as "POST /deployments/secrets".
	Op string
	// Lost says, as a fact, what left the outcome unknown: the one wording
	// of Err, for the client's own notes and for whoever words errors for
	// people.
	Lost string
	// Detail says what was done to find out, and why it did not tell.
	Detail string
	// Name and Since, for a create, are the secret's name and when the call
	// began, by this machine's clock: a secret of that name created after
	// Since was created by the call.
	Name  string
	Since time.Time
	// Retry, when Err is an earlier attempt's, is the failure of the retry
	// that followed it, which says nothing of whether that attempt acted.
	Retry error
}

// lostAnswer is the error of op, a change whose answer was lost to err.
func lostAnswer(op call, err error) *ChangeError {
	return &ChangeError{Effect: MayHaveBeenMade, Op: op.String(), Err: err, Lost: loss(err)}
}

// unknownOutcome returns the *ChangeError of a change whose answer was
// lost that err is or wraps, or nil.
func unknownOutcome(err error) *ChangeError {
	var e *ChangeError
	if errors.As(err, &e) && e.Effect == MayHaveBeenMade {
		return e
	}
	return nil
}

func (e *ChangeError) Error() string {
	switch e.Effect {
	case Made:
		return "the change was made, but reading it back failed: " + e.Err.Error()
	case MayHaveBeenMade:
		msg := "togetherapi: " + e.Op + ": outcome unknown: " + e.Err.Error()
		if e.Detail != "" {
			msg += "; " + e.Detail
		}
		return msg
	}
	return e.Err.Error()
}

// Unwrap returns the step's failure.
func (e *ChangeError) Unwrap() error { return e.Err }

// loss says what left the outcome of a change unknown, from the failure
// that lost its answer.
func loss(err error) string {
	var (
		apiErr    *APIError
		transport *TransportError
		malformed *MalformedError
	)
	switch {
	case errors.As(err, &malformed) && malformed.Limit > 0:
		return fmt.Sprintf("Together's answer was larger than %d bytes and was not read", malformed.Limit)
	case errors.As(err, &malformed):
		if malformed.Detail == "" {
			return "Together answered success, but not with the secret's metadata"
		}
		return "Together answered success, but not with the JSON expected (" + malformed.Detail + ")"
	case errors.Is(err, ErrAlreadyExists):
		return "a retry found the name taken, which may be this call's own secret"
	case errors.As(err, &transport) && transport.Timeout > 0:
		return fmt.Sprintf("Together did not answer within %s", transport.Timeout)
	case errors.As(err, &apiErr):
		return fmt.Sprintf("Together answered HTTP %d (%s), which does not say", apiErr.StatusCode, strings.TrimSuffix(apiErr.Message, "."))
	}
	return "the connection to Together broke after the request was sent"
}

// Effect is what a call that failed did to the account, as far as can be
// known.
type Effect int

const (
	// NotMade: nothing was sent, or Together answered that it did not make
	// the change.
	NotMade Effect = iota
	// MayHaveBeenMade: a change was sent and its answer was lost.
	MayHaveBeenMade
	// Made: Together accepted the change; what failed came after it, such
	// as reading the result back.
	Made
)

// EffectOf says what the call that returned err did. It is the one rule for
// it, so that whoever words a failure and whoever records it agree: a
// change that failed with a *ChangeError did what its Effect says; any
// other failure made nothing.
func EffectOf(err error) Effect {
	var change *ChangeError
	switch {
	case err == nil:
		return Made
	case errors.As(err, &change):
		return change.Effect
	}
	return NotMade
}

// TransportError is a failure that left no HTTP status: the host could not be
// reached, the connection broke, the TLS handshake failed, or no answer came
// in the time allowed.
type TransportError struct {
	// Op is the method and path, such as "POST /deployments/secrets".
	Op string
	// Host is the API host.
	Host string
	// Timeout, when not zero, is the time allowed that ran out: the call's
	// budget, or one attempt's. The request may have reached the API
	// before it did.
	Timeout time.Duration
	msg     string
	err     error
}

func (e *TransportError) Error() string {
	if e.Timeout > 0 {
		return fmt.Sprintf("togetherapi: no answer within %s", e.Timeout)
	}
	return "togetherapi: " + e.Op + ": " + e.msg
}

// Unwrap returns the underlying network error.
func (e *TransportError) Unwrap() error { return e.err }

// newAPIError builds the error for a non-2xx response.
func newAPIError(status int, header http.Header, body []byte, scrub Scrubber) *APIError {
	e := &APIError{
		StatusCode: status,
		RequestID:  requestID(header),
		RetryAfter: retryAfter(header, time.Now()),
	}
	if status >= 300 && status <= 399 {
		if loc, err := url.Parse(header.Get("Location")); err == nil {
			e.Location = clean(scrub, loc.Host)
		}
		// Never followed: that would resend the key and the value.
		e.Message = "redirect refused"
		if e.Location != "" {
			e.Message = "redirect to " + e.Location + " refused"
		}
		return e
	}
	e.Message, e.Type, e.Code = parseErrorBody(header.Get("Content-Type"), body, scrub)
	if e.Message == "" {
		e.Message = http.StatusText(status)
	}
	return e
}

// parseErrorBody finds the explanation in an error body. The secrets
// endpoints do not document their error shape, so it tries, in order,
// error.message, message, a string error, then the raw text, bounded.
//
// Each text is scrubbed before it is cleaned or cut: cleaning could respell a
// value (a newline becomes a space) and cutting could leave part of one, and
// either would then slip past the scrubber.
func parseErrorBody(contentType string, body []byte, scrub Scrubber) (message, typ, code string) {
	clean := func(s string) string { return clean(scrub, s) }
	var doc struct {
		Error   json.RawMessage `json:"error"`
		Message json.RawMessage `json:"message"`
	}
	if json.Unmarshal(body, &doc) == nil {
		var nested struct {
			Message json.RawMessage `json:"message"`
			Type    json.RawMessage `json:"type"`
			Code    json.RawMessage `json:"code"`
		}
		if json.Unmarshal(doc.Error, &nested) == nil {
			typ, code = clean(jsonText(nested.Type)), clean(jsonText(nested.Code))
			if m := clean(jsonText(nested.Message)); m != "" {
				return m, typ, code
			}
		}
		if m := clean(jsonText(doc.Message)); m != "" {
			return m, typ, code
		}
		var s string
		if json.Unmarshal(doc.Error, &s) == nil && clean(s) != "" {
			return clean(s), typ, code
		}
	}
	text := clean(string(body))
	if text == "" {
		return "", typ, code
	}
	if mt, _, _ := mime.ParseMediaType(contentType); mt == "text/html" || strings.HasPrefix(text, "<") {
		return "the API answered with an HTML page instead of JSON", typ, code
	}
	return text, typ, code
}

// jsonText returns a JSON string as is, and any other JSON scalar as its
// literal text (an error code may be a number).
func jsonText(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	if raw[0] == '{' || raw[0] == '[' {
		return ""
	}
	return string(raw)
}

// tidy makes s safe to show on one line: valid UTF-8, no control
// characters, single spaces.
func tidy(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.IsSpace(r) {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// clean makes text from a response safe to show: scrubbed, on one line,
// and bounded. It scrubs before tidying, since tidying could respell a value
// (a newline becomes a space), and again after, which catches a value that
// tidying spelled out ("a b" from "a\nb"). Cutting can make a token of what
// was part of a word, so the cut text is scrubbed once more, and cut shorter
// should that have lengthened it past the bound.
func clean(scrub Scrubber, s string) string {
	return scrub.Bounded(tidy(scrub.Scrub(s)), maxMessageLen)
}

// cutAt bounds s to n bytes, on a rune boundary, marking the cut with "…".
func cutAt(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// RetryAfterCap is the longest wait the client reads from a Retry-After
// header; a longer or absurd one is read as this, and is never waited for.
const RetryAfterCap = 24 * time.Hour

// retryAfter reads retry-after-ms, then Retry-After as seconds or an HTTP
// date. It returns 0 when neither is usable, and at most RetryAfterCap,
// whatever the header says, so no value can overflow into a short wait.
func retryAfter(h http.Header, now time.Time) time.Duration {
	if v := strings.TrimSpace(h.Get("Retry-After-Ms")); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms > 0 && !math.IsInf(ms, 0) {
			if ms >= float64(RetryAfterCap/time.Millisecond) {
				return RetryAfterCap
			}
			return time.Duration(ms * float64(time.Millisecond))
		}
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseUint(v, 10, 64); err == nil || errors.Is(err, strconv.ErrRange) {
		switch {
		case err != nil || secs >= uint64(RetryAfterCap/time.Second):
			return RetryAfterCap
		case secs == 0:
			return 0
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), RetryAfterCap)
	}
	return 0
}
