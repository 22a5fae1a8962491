// Package togetherapi is a small typed client for Together AI's secrets API
// (/v1/deployments/secrets).
//
// It is built for values that must not leak: a secret value and the API key
// are held in [Sensitive], which prints as [Redacted] everywhere; responses
// are decoded through an allowlist of metadata fields, so nothing the API
// adds later can carry a value out; bodies are read up to a bound;
// redirects are never followed, so the key and the value are never resent to
// another host; and every error text is scrubbed of the key and the value.
//
// The package knows nothing of MCP.
package togetherapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/together-secrets-mcp/together-secrets-mcp/internal/netguard"
)

// DefaultBaseURL is Together's public API.
const DefaultBaseURL = "https://api.together.ai/v1"

// DefaultTimeout bounds one client call, retries included.
const DefaultTimeout = 30 * time.Second

// maxResponseBytes is the most of a response body the client reads, but for
// the list of secrets. A larger body is an error, not an out-of-memory.
const maxResponseBytes = 1 << 20

// maxListBytes is the most of the list of secrets the client reads: the API
// does not page, and an account of 50,000 secrets with long descriptions
// lists in about 40 MiB.
const maxListBytes = 64 << 20

// maxResponseHeaderBytes bounds a response's headers.
const maxResponseHeaderBytes = 64 << 10

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
	// Timeout bounds each call, retries and read-backs included;
	// DefaultTimeout when zero.
	Timeout time.Duration
	// AttemptTimeout bounds one HTTP exchange; Timeout/2 when zero, so that
	// after one attempt that hangs there is time left to retry or to find
	// out whether it took effect.
	AttemptTimeout time.Duration
	// MaxRetries is how many times a failed request may be sent again: 0
	// for never. Together's own SDKs use 2.
	MaxRetries int
	// Transport carries the requests; a pooled transport tuned for many
	// concurrent calls when nil.
	Transport http.RoundTripper
}

// Client calls Together's secrets API. It is safe for concurrent use.
type Client struct {
	base           *url.URL
	key            Sensitive
	userAgent      string
	timeout        time.Duration
	attemptTimeout time.Duration
	maxRetries     int
	http           *http.Client
	now            func() time.Time
	sleep          func(ctx context.Context, d time.Duration) error
}

// New returns a client for cfg, or a *FieldError naming the field of cfg
// that is wrong, whose Problem says what is wrong in words that name no
// package, for a program to put beside the name of its own setting.
func New(cfg Config) (*Client, error) {
	raw := cfg.BaseURL
	if raw == "" {
		raw = DefaultBaseURL
	}
	base, err := parseBaseURL(raw)
	if err != nil {
		return nil, &FieldError{Field: "BaseURL", Problem: err.Error()}
	}
	if cfg.Timeout < 0 || cfg.AttemptTimeout < 0 {
		field := "Timeout"
		if cfg.Timeout >= 0 {
			field = "AttemptTimeout"
		}
		return nil, &FieldError{Field: field, Problem: fmt.Sprintf("timeouts must be positive, got %s and %s", cfg.Timeout, cfg.AttemptTimeout)}
	}
	if cfg.MaxRetries < 0 {
		return nil, &FieldError{Field: "MaxRetries", Problem: fmt.Sprintf("MaxRetries must be 0 or more, got %d", cfg.MaxRetries)}
	}
	c := &Client{
		base:           base,
		key:            cfg.APIKey,
		userAgent:      cfg.UserAgent,
		timeout:        cfg.Timeout,
		attemptTimeout: cfg.AttemptTimeout,
		maxRetries:     cfg.MaxRetries,
		now:            time.Now,
		sleep:          sleepCtx,
	}
	if c.userAgent == "" {
		c.userAgent = "together-secrets-mcp"
	}
	if c.timeout == 0 {
		c.timeout = DefaultTimeout
	}
	if c.attemptTimeout == 0 || c.attemptTimeout > c.timeout {
		c.attemptTimeout = c.timeout / 2
	}
	transport := cfg.Transport
	if transport == nil {
		transport = newTransport()
	}
	c.http = &http.Client{
		Transport: transport,
		// Following a redirect would resend the key and the value to
		// wherever the Location points. A 3xx is reported as an error.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return c, nil
}

// WithAPIKey returns a copy of c that sends key instead of c's own, sharing
// c's connections and settings: for a server whose callers each bring their
// own key.
func (c *Client) WithAPIKey(key Sensitive) *Client {
	cp := *c
	cp.key = key
	return &cp
}

// newTransport returns the transport a Client uses by default: HTTP/2 where
// the server offers it, and an idle pool large enough that concurrent calls
// reuse connections instead of opening new ones.
func newTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 256
	t.MaxIdleConnsPerHost = 256
	t.IdleConnTimeout = 90 * time.Second
	t.ForceAttemptHTTP2 = true
	t.MaxResponseHeaderBytes = maxResponseHeaderBytes
	return t
}

// KeyScrubber returns a Scrubber of the client's key, for a caller that
// must keep the key out of text of its own: the key stays with the client.
func (c *Client) KeyScrubber() Scrubber { return Scrubber{c.key} }

// CheckBaseURL reports whether raw can be a Config.BaseURL, and if not,
// why, in words that name no package, for a program to put beside the name
// of its own setting.
func CheckBaseURL(raw string) error {
	_, err := parseBaseURL(raw)
	return err
}

// parseBaseURL checks that raw is an absolute http(s) URL that will not send
// the key in clear to a remote host.
func parseBaseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		// Not quoted: a URL that fails to parse may still hold a password.
		return nil, errors.New("the base URL is not a URL")
	}
	if u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		// Not quoted: a key set here by mistake is no URL either.
		return nil, fmt.Errorf("the base URL must be an absolute https URL such as %s, with a scheme and a host", DefaultBaseURL)
	}
	// Quoted without what may hold a key: a user name or password, a
	// query such as ?api_key=, a fragment.
	shown := (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("base URL %q must not carry credentials, a query or a fragment", shown)
	}
	if u.Scheme == "http" && !netguard.IsLoopback(u.Hostname()) {
		return nil, fmt.Errorf("base URL %q is plain http to a remote host; use https so the API key is not sent in clear (http is allowed only for localhost)", shown)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// CallInfo reports what one client call did on the wire. Attach one to a
// context with [WithCallInfo] to have the client fill it in, the way
// net/http/httptrace reports on a request.
type CallInfo struct {
	// Requests is how many HTTP requests were sent, retries included.
	Requests int
	// Attempts is the most tries any one request took: 1 when none was
	// retried. A lookup and the change it leads to are two requests of one
	// attempt each.
	Attempts int
	// StatusCode is the status of the last response, 0 when none came.
	StatusCode int
	// RequestID is the API's identifier of the last response, if it gave one.
	RequestID string
	// Resolution says how the outcome was settled when the API's first
	// answer was lost or ambiguous, such as a create confirmed by reading
	// the secret back. Empty when the first answer was clear.
	Resolution string
	// OnRetry, if set, is called before each retry, on the calling goroutine.
	OnRetry func(RetryEvent)
	// plain gains each plain value of a deployment's variable the call
	// reads, the moment it is read. The client scrubs them from the text
	// Together sends about deployments, and from nothing else: text that
	// someone chose (an argument, a name, a description) scrubbed of them
	// would tell whoever chose it whether a guess equals one.
	plain Scrubber
}

// RetryEvent describes a retry about to happen.
type RetryEvent struct {
	// Op is the method and path, such as "POST /deployments/secrets".
	Op string
	// Attempt is the number of the attempt that failed, from 1.
	Attempt int
	// StatusCode is that attempt's HTTP status, 0 when none came.
	StatusCode int
	// Reason says why it failed, scrubbed of every sensitive value.
	Reason string
	// Wait is how long the client waits before the next attempt.
	Wait time.Duration
}

type callInfoKey struct{}

// WithCallInfo returns a context that makes client calls record into info.
// The info is written by the calling goroutine only.
func WithCallInfo(ctx context.Context, info *CallInfo) context.Context {
	return context.WithValue(ctx, callInfoKey{}, info)
}

// CallInfoFrom returns the CallInfo attached to ctx, or nil.
func CallInfoFrom(ctx context.Context) *CallInfo {
	info, _ := ctx.Value(callInfoKey{}).(*CallInfo)
	return info
}

func callInfoFrom(ctx context.Context) *CallInfo {
	if info, ok := ctx.Value(callInfoKey{}).(*CallInfo); ok {
		return info
	}
	return &CallInfo{}
}

// requestID returns the identifier the API gave a response, if any, and
// only if it has the shape of one: a short run of letters, digits and
// ".-_:". Anything else (a header that echoes a request, or holds the key)
// is dropped rather than logged or shown.
func requestID(h http.Header) string {
	for _, k := range []string{"X-Request-Id", "X-Together-Request-Id", "Request-Id", "Cf-Ray"} {
		if v := h.Get(k); v != "" {
			if !isRequestID(v) {
				return ""
			}
			return v
		}
	}
	return ""
}

// maxRequestIDLen bounds a request id taken from a response header.
const maxRequestIDLen = 128

func isRequestID(v string) bool {
	if len(v) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':') {
			return false
		}
	}
	return true
}
