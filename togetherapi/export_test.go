package togetherapi

import (
	"context"
	"time"
)

// SetSleep replaces the client's wait between retries, so tests can record
// the waits instead of sitting through them.
func SetSleep(c *Client, sleep func(ctx context.Context, d time.Duration) error) { c.sleep = sleep }

// PlainValues returns the plain values the call has read, which its later
// errors about deployments are scrubbed of.
func PlainValues(info *CallInfo) Scrubber { return info.plain }
