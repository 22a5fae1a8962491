package togetherapi

import (
	"context"
	"time"
)

// SetSleep replaces the client's wait between retries, so tests can record
// the waits instead of sitting through them.
func SetSleep(c *Client, sleep func(ctx context.Context, d time.Duration) error) { c.sleep = sleep }

// BaseURL returns the API root c sends to.
func BaseURL(c *Client) string { return c.base.String() }

// CloseIdleConnections closes the connections c keeps for reuse.
func CloseIdleConnections(c *Client) { c.http.CloseIdleConnections() }

// Contained reports whether text holds any of s's strings.
func (s Scrubber) Contained(text string) bool { return s.contained(text) }

// PlainValues returns the plain values the call has read, which its later
// errors about deployments are scrubbed of.
func PlainValues(info *CallInfo) Scrubber { return info.plain }

// MinSubstringLen is the length from which a sensitive string is found
// anywhere, not only as a whole token.
const MinSubstringLen = minSubstringLen

// The bounds of a response body, for tests to go past.
const (
	MaxResponseBytes = maxResponseBytes
	MaxListBytes     = maxListBytes
)

// AttachSecretNamed attaches the secret with the given ID or name, looked
// up first, as no caller outside the package does.
func (c *Client) AttachSecretNamed(ctx context.Context, deployment, variable, secret string, hooks ChangeHooks) (*VariableChange, error) {
	return c.attachSecretNamed(ctx, deployment, variable, secret, hooks)
}

// DeleteSecret deletes the secret with the given ID or name, looked up
// first, as no caller outside the package does.
func (c *Client) DeleteSecret(ctx context.Context, idOrName string) (*Secret, error) {
	return c.deleteSecretNamed(ctx, idOrName)
}
