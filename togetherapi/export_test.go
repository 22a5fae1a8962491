package togetherapi

import (
	"context"
	"time"
)

// SetSleep replaces the client's wait between retries, so tests can record
// the waits instead of sitting through them.
func SetSleep(c *Client, sleep func(ctx context.Context, d time.Duration) error) { c.sleep = sleep }

// SetNow replaces the client's clock.
func SetNow(c *Client, now func() time.Time) { c.now = now }
