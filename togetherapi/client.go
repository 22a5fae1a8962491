// Package togetherapi is a small typed client for Together AI's secrets API
// (/v1/deployments/secrets).
//
// It is built for values that must not leak: a secret value and the API key
// are held in [Sensitive], which prints as [Redacted] everywhere; responses
// are decoded through an allowlist of metadata fields, so nothing the API
// adds later can carry a value out; bodies are read up to [MaxResponseBytes];
// redirects are never followed, so the key and the value are never resent to
// another host; and every error text is scrubbed of the key and the value.
//
// The package knows nothing of MCP.
package togetherapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultBaseURL is Together's public API.
const DefaultBaseURL = "https://api.together.ai/v1"

// DefaultTimeout bounds one client call, retries included.
const DefaultTimeout = 30 * time.Second

// MaxResponseBytes is the most of a response body the client reads. A larger
// body is an error, not an out-of-memory.
const MaxResponseBytes = 1 << 20

// Config configures a [Client].
type Config struct {
	// BaseURL is the API root, DefaultBaseURL when empty. It must be https,
	// unless its host is loopback, so the key never travels in clear.
	BaseURL string
	// APIKey is sent as a bearer token. When it is empty every call fails
	// with ErrNoAPIKey before anything is sent.
	APIKey Sensitive
	// UserAgent names the calling program; "together-secrets-mcp" when empty.
	UserAgent string
	// Timeout bounds each call, retries included; DefaultTimeout when zero.
	Timeout time.Duration
	// Transport carries the requests; a pooled transport tuned for many
	// concurrent calls when nil.
	Transport http.RoundTripper
}

// Client calls Together's secrets API. It is safe for concurrent use.
type Client struct {
	base      *url.URL
	key       Sensitive
	userAgent string
	timeout   time.Duration
	http      *http.Client
}

// New returns a client for cfg, or an error naming what is wrong with it.
func New(cfg Config) (*Client, error) {
	raw := cfg.BaseURL
	if raw == "" {
		raw = DefaultBaseURL
	}
	base, err := parseBaseURL(raw)
	if err != nil {
		return nil, err
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("togetherapi: timeout must be positive, got %s", cfg.Timeout)
	}
	c := &Client{
		base:      base,
		key:       cfg.APIKey,
		userAgent: cfg.UserAgent,
		timeout:   cfg.Timeout,
	}
	if c.userAgent == "" {
		c.userAgent = "together-secrets-mcp"
	}
	if c.timeout == 0 {
		c.timeout = DefaultTimeout
	}
	transport := cfg.Transport
	if transport == nil {
		transport = NewTransport()
	}
	c.http = &http.Client{
		Transport: transport,
		// Following a redirect would resend the key and the value to
		// wherever the Location points. A 3xx is reported as an error.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return c, nil
}

// NewTransport returns the transport a Client uses by default: HTTP/2 where
// the server offers it, and an idle pool large enough that concurrent calls
// reuse connections instead of opening new ones.
func NewTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 256
	t.MaxIdleConnsPerHost = 256
	t.IdleConnTimeout = 90 * time.Second
	t.ForceAttemptHTTP2 = true
	return t
}

// BaseURL returns the API root the client sends to.
func (c *Client) BaseURL() string { return c.base.String() }

// parseBaseURL checks that raw is an absolute http(s) URL that will not send
// the key in clear to a remote host.
func parseBaseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return nil, fmt.Errorf("togetherapi: base URL %q is not a URL: %w", raw, err)
	}
	if u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("togetherapi: base URL %q must be an absolute https URL such as %s", raw, DefaultBaseURL)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("togetherapi: base URL %q must not carry credentials, a query or a fragment", u.Redacted())
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		return nil, fmt.Errorf("togetherapi: base URL %q is plain http to a remote host; use https so the API key is not sent in clear (http is allowed only for localhost)", raw)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// CallInfo reports what one client call did on the wire. Attach one to a
// context with [WithCallInfo] to have the client fill it in, the way
// net/http/httptrace reports on a request.
type CallInfo struct {
	// Attempts is how many HTTP requests were sent.
	Attempts int
	// StatusCode is the status of the last response, 0 when none came.
	StatusCode int
	// RequestID is the API's identifier of the last response, if it gave one.
	RequestID string
}

type callInfoKey struct{}

// WithCallInfo returns a context that makes client calls record into info.
// The info is written by the calling goroutine only.
func WithCallInfo(ctx context.Context, info *CallInfo) context.Context {
	return context.WithValue(ctx, callInfoKey{}, info)
}

func callInfoFrom(ctx context.Context) *CallInfo {
	if info, ok := ctx.Value(callInfoKey{}).(*CallInfo); ok {
		return info
	}
	return &CallInfo{}
}

// call describes one API operation.
type call struct {
	method string
	path   string // below the base URL, already escaped
	body   []byte // nil for none; cleared by the caller after use
	scrub  Scrubber
}

// do sends c and returns the body of a 2xx response. Every error it returns
// is scrubbed of the key and of the call's sensitive values.
func (c *Client) do(ctx context.Context, op call) ([]byte, error) {
	if c.key.IsZero() {
		return nil, ErrNoAPIKey
	}
	op.scrub = append(op.scrub, c.key)
	ctx, cancel := context.WithTimeoutCause(ctx, c.timeout, errTimeoutCause)
	defer cancel()

	info := callInfoFrom(ctx)
	info.Attempts++
	info.StatusCode = 0
	info.RequestID = ""

	req, err := c.newRequest(ctx, op)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, c.transportError(ctx, op, err)
	}
	defer resp.Body.Close()
	info.StatusCode = resp.StatusCode
	info.RequestID = requestID(resp.Header)

	body, err := readBounded(resp.Body)
	if err != nil {
		if errors.Is(err, ErrResponseTooLarge) {
			return nil, fmt.Errorf("togetherapi: %s %s: HTTP %d: %w", op.method, op.path, resp.StatusCode, err)
		}
		return nil, c.transportError(ctx, op, err)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return body, nil
	}
	return nil, newAPIError(resp, body, op.scrub)
}

func (c *Client) newRequest(ctx context.Context, op call) (*http.Request, error) {
	u := *c.base
	u.Path = c.base.Path + op.path
	var body io.Reader
	if op.body != nil {
		body = bytes.NewReader(op.body)
	}
	req, err := http.NewRequestWithContext(ctx, op.method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("togetherapi: building %s %s: %w", op.method, op.path, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.key.reveal())
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if op.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}

// transportError explains a failure that left no HTTP status.
func (c *Client) transportError(ctx context.Context, op call, err error) error {
	if context.Cause(ctx) == errTimeoutCause {
		return &TimeoutError{Timeout: c.timeout}
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("togetherapi: %s %s: %w", op.method, op.path, ctxErr)
	}
	// url.Error names the URL, which holds no secret; scrub it all the same.
	return &TransportError{Op: op.method + " " + op.path, Host: c.base.Host, msg: op.scrub.Scrub(err.Error()), err: err}
}

// readBounded reads at most MaxResponseBytes of r.
func readBounded(r io.Reader) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r, MaxResponseBytes+1))
	if err != nil {
		return nil, err
	}
	if len(body) > MaxResponseBytes {
		return nil, ErrResponseTooLarge
	}
	return body, nil
}

// requestID returns the identifier the API gave a response, if any.
func requestID(h http.Header) string {
	for _, k := range []string{"X-Request-Id", "X-Together-Request-Id", "Request-Id"} {
		if v := h.Get(k); v != "" {
			if len(v) > 128 {
				v = v[:128]
			}
			return v
		}
	}
	return ""
}

// decodeSecret reads the metadata of one secret from a JSON object, keeping
// only the documented SecretResponseItem fields and only where they are
// strings, so an extra or malformed field can neither carry a value out nor
// turn a created secret into a reported failure.
func decodeSecret(raw json.RawMessage, scrub Scrubber) (*Secret, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		return nil, ErrMalformedResponse
	}
	str := func(key string) string {
		var s string
		if json.Unmarshal(fields[key], &s) != nil {
			return ""
		}
		return scrub.Scrub(s)
	}
	return &Secret{
		Object:        str("object"),
		ID:            str("id"),
		Name:          str("name"),
		Description:   str("description"),
		CreatedAt:     str("created_at"),
		UpdatedAt:     str("updated_at"),
		CreatedBy:     str("created_by"),
		LastUpdatedBy: str("last_updated_by"),
	}, nil
}
