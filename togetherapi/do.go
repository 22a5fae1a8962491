package togetherapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"time"
)

// Retry timing: exponential backoff from backoffBase, at most backoffMax,
// with up to 25% jitter; a server's Retry-After is honoured up to
// maxRetryAfter, and a longer one ends the retries.
const (
	backoffBase   = 500 * time.Millisecond
	backoffMax    = 8 * time.Second
	maxRetryAfter = 10 * time.Second
)

// call describes one API operation.
type call struct {
	method string
	path   string // below the base URL, already escaped
	body   []byte // nil for none; cleared by the caller after use
	scrub  Scrubber
	// maxBody bounds the response body; maxResponseBytes when zero.
	maxBody int64
	// idempotent says that sending the request twice has the effect of
	// sending it once, so a failure after it was sent may be retried.
	idempotent bool
	// deployment says the request reads deployments or sends their
	// variables back, so that Together's text about it may quote a plain
	// value the call has read.
	deployment bool
}

func (op call) String() string { return op.method + " " + op.path }

// changes says the op changes state: an attempt of it whose answer was lost
// leaves it unknown whether it took effect.
func (op call) changes() bool { return op.method != http.MethodGet }

// response is a 2xx answer.
type response struct {
	status int
	header http.Header
	body   []byte
	// scrub is the call's scrubber, the key included.
	scrub Scrubber
}

// exchange is the outcome of one HTTP attempt.
type exchange struct {
	status int
	header http.Header
	body   []byte
	err    error // no complete response: the error that stopped it
	sent   bool  // the request's headers were written, so it may have arrived
}

// budget bounds a whole client call: every attempt, wait and read-back. It
// also gives the call a CallInfo if the caller did not, since the call
// counts its own attempts to tell a retry's answer from a first one.
func (c *Client) budget(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Value(callInfoKey{}).(*CallInfo); !ok {
		ctx = WithCallInfo(ctx, &CallInfo{})
	}
	return context.WithTimeoutCause(ctx, c.timeout, errTimeoutCause)
}

// do sends op, retrying what is safe to retry, and returns a 2xx response.
// A failure that leaves it unknown whether a change took effect (its answer,
// or an earlier attempt's, was lost) is a *ChangeError that may have been
// made. Every error
// is scrubbed of the key and of op's sensitive values.
func (c *Client) do(ctx context.Context, op call) (*response, error) {
	if c.key.IsZero() {
		return nil, ErrNoAPIKey
	}
	op.scrub = append(op.scrub, c.key)
	info := callInfoFrom(ctx)
	if op.deployment && len(info.plain) > 0 {
		// Only there: an answer about secrets can hold a plain value only
		// where the request carried it, in a name or description someone
		// chose, and scrubbing it there would confirm their guess.
		op.scrub = append(op.scrub[:len(op.scrub):len(op.scrub)], info.plain...)
	}
	// lost is the failure of an earlier attempt of a change whose answer
	// was lost: whatever a retry is answered, that attempt may have acted.
	var lost error
	for attempt := 1; ; attempt++ {
		info.Requests++
		info.Attempts = max(info.Attempts, attempt)
		ex := c.send(ctx, op)
		info.StatusCode = ex.status
		info.RequestID = requestID(ex.header)
		if ex.err == nil && ex.status >= 200 && ex.status <= 299 {
			return &response{status: ex.status, header: ex.header, body: ex.body, scrub: op.scrub}, nil
		}

		retry, wait := c.shouldRetry(ctx, op, ex, attempt)
		if retry {
			if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) <= wait {
				retry = false // the wait would outlast the budget
			}
		}
		if !retry {
			return nil, c.failure(ctx, op, ex, lost)
		}
		if op.changes() && answerLost(ex) {
			lost = c.attemptError(ctx, op, ex)
		}
		if info.OnRetry != nil {
			info.OnRetry(RetryEvent{Op: op.String(), Attempt: attempt, StatusCode: ex.status, Reason: c.reason(op, ex), Wait: wait})
		}
		if err := c.sleep(ctx, wait); err != nil {
			return nil, c.failure(ctx, op, ex, lost)
		}
	}
}

// send makes one HTTP attempt, bounded by the attempt timeout.
func (c *Client) send(ctx context.Context, op call) (ex exchange) {
	var (
		err error
		req *http.Request
	)
	ctx, cancel := context.WithTimeout(ctx, c.attemptTimeout)
	defer cancel()
	trace := &httptrace.ClientTrace{WroteHeaders: func() { ex.sent = true }}
	ctx = httptrace.WithClientTrace(ctx, trace)

	u := *c.base
	u.RawPath = c.base.EscapedPath() + op.path
	if u.Path, err = url.PathUnescape(u.RawPath); err != nil {
		ex.err = fmt.Errorf("building the request path: %w", err)
		return ex
	}
	var body io.Reader
	if op.body != nil {
		body = bytes.NewReader(op.body)
	}
	req, err = http.NewRequestWithContext(ctx, op.method, u.String(), body)
	if err != nil {
		ex.err = fmt.Errorf("building the request: %w", err)
		return ex
	}
	req.Header.Set("Authorization", "Bearer "+c.key.reveal())
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if op.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}

	resp, err := c.http.Do(req)
	if err != nil {
		ex.err = err
		return ex
	}
	defer resp.Body.Close()
	ex.status, ex.header = resp.StatusCode, resp.Header
	limit := op.maxBody
	if limit == 0 {
		limit = maxResponseBytes
	}
	ex.body, ex.err = readBounded(resp, limit)
	if ex.err != nil && !isTooLarge(ex.err) {
		// The status came but the body broke off: as good as no answer.
		ex.status = 0
	}
	return ex
}

// readBounded reads at most limit bytes of resp's body. A body whose
// declared length is over the limit is refused before any of it is read:
// reading 64 MiB only to throw it away would hold the call, and its memory,
// for nothing. (The transport clears the length of a body it decompresses.)
func readBounded(resp *http.Response, limit int64) ([]byte, error) {
	if resp.ContentLength > limit {
		return nil, &MalformedError{Limit: limit}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(body)) > limit {
		return nil, &MalformedError{Limit: limit}
	}
	return body, nil
}

// shouldRetry decides whether a failed attempt may be sent again, and after
// how long. It retries only what cannot cause a second effect: anything
// never sent, a 429 or 503 (the API did not act), and, for idempotent ops,
// any failure that may be passing.
func (c *Client) shouldRetry(ctx context.Context, op call, ex exchange, attempt int) (bool, time.Duration) {
	if attempt > c.maxRetries || ctx.Err() != nil {
		return false, 0
	}
	wait := backoff(attempt)
	switch {
	case isTooLarge(ex.err):
		return false, 0
	case ex.err != nil:
		return !ex.sent || op.idempotent, wait
	case ex.status == http.StatusTooManyRequests || ex.status == http.StatusServiceUnavailable:
		if ra := retryAfter(ex.header, c.now()); ra > 0 {
			if ra > maxRetryAfter {
				return false, 0
			}
			wait = ra
		}
		return true, wait
	case ex.status >= 500 && ex.status <= 599, ex.status == http.StatusRequestTimeout:
		return op.idempotent, wait
	}
	return false, 0
}

// backoff is the wait before retry n (from 1): exponential, capped, jittered.
func backoff(n int) time.Duration {
	d := backoffBase << (n - 1)
	if d > backoffMax || d <= 0 {
		d = backoffMax
	}
	return d - time.Duration(rand.Int64N(int64(d)/4+1))
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// failure builds the error for the last attempt. A change whose answer was
// lost, at this attempt or at an earlier one (lost), is an
// *ChangeError that may have been made. Only a change never sent,
// or answered with a status that says it was not made, fails plainly.
func (c *Client) failure(ctx context.Context, op call, ex exchange, lost error) error {
	err := c.attemptError(ctx, op, ex)
	switch {
	case !op.changes():
		return err
	case answerLost(ex):
		return lostAnswer(op, err)
	case lost != nil:
		e := lostAnswer(op, lost)
		e.Retry, e.Detail = err, "a retry was "+retryAnswer(ex)+", which does not say whether the earlier attempt took effect"
		return e
	}
	return err
}

// attemptError builds the error of one failed attempt.
func (c *Client) attemptError(ctx context.Context, op call, ex exchange) error {
	switch {
	case isTooLarge(ex.err):
		return fmt.Errorf("%s: HTTP %d: %w", op, ex.status, ex.err)
	case ex.err != nil:
		return c.transportError(ctx, op, ex.err)
	}
	return newAPIError(ex.status, ex.header, ex.body, op.scrub)
}

// answerLost says whether a failed attempt's answer was lost: the request
// may have reached the API, and nothing it answered says whether it acted.
func answerLost(ex exchange) bool {
	switch {
	case isTooLarge(ex.err):
		// A status came, so the outcome is known even if the body is not;
		// but a success whose answer cannot be read is no success.
		return ex.status >= 200 && ex.status <= 299
	case ex.err != nil:
		return ex.sent
	}
	return ex.status == http.StatusBadGateway || ex.status == http.StatusGatewayTimeout ||
		ex.status == http.StatusInternalServerError
}

// retryAnswer says what became of a retry that did not lose its answer.
func retryAnswer(ex exchange) string {
	if ex.status == 0 {
		return "not sent"
	}
	return fmt.Sprintf("answered HTTP %d", ex.status)
}

// transportError explains a failure that left no HTTP status.
func (c *Client) transportError(ctx context.Context, op call, err error) error {
	switch {
	case context.Cause(ctx) == errTimeoutCause:
		return &TransportError{Op: op.String(), Host: c.base.Host, Timeout: c.timeout}
	case ctx.Err() != nil:
		return fmt.Errorf("togetherapi: %s: %w", op, ctx.Err())
	case errors.Is(err, context.DeadlineExceeded):
		return &TransportError{Op: op.String(), Host: c.base.Host, Timeout: c.attemptTimeout}
	}
	// url.Error names the URL, which holds no secret; scrub it all the same.
	return &TransportError{Op: op.String(), Host: c.base.Host, msg: op.scrub.Scrub(err.Error()), err: err}
}

// reason summarises a failed attempt for a retry event.
func (c *Client) reason(op call, ex exchange) string {
	if ex.err != nil {
		if !ex.sent {
			return "not sent: " + op.scrub.Scrub(ex.err.Error())
		}
		return op.scrub.Scrub(ex.err.Error())
	}
	return http.StatusText(ex.status)
}
