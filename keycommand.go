package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"github.com/together-secrets-mcp/together-secrets-mcp/togetherapi"
)

// Bounds of a key command: what it may print, and how much of its stderr
// an error shows.
const (
	maxKeyCommandOutput = 64 << 10
	maxKeyCommandStderr = 2 << 10
	defaultKeyTimeout   = 30 * time.Second
)

// runKeyCommand runs line through the shell, the way git credential helpers
// and AWS credential_process do, and returns its stdout, trimmed, as the
// key. Its stdout is never shown; on failure the error gives the exit
// status and the command's stderr, scrubbed of whatever stdout held. A
// command that outlives timeout is killed with every process it started.
func runKeyCommand(ctx context.Context, line string, timeout time.Duration) (togetherapi.Sensitive, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := shellCommand(ctx, line)
	stdout := &cappedBuffer{max: maxKeyCommandOutput}
	stderr := &cappedBuffer{max: maxKeyCommandStderr}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	// Grandchildren that keep the pipes open must not keep start-up waiting.
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	defer clear(stdout.buf.Bytes())

	key := strings.TrimSpace(stdout.buf.String())
	scrub := togetherapi.Scrubber{togetherapi.NewSensitive(key)}
	detail := func() string {
		msg := strings.Join(strings.Fields(scrub.Scrub(stderr.buf.String())), " ")
		if msg == "" {
			return ""
		}
		if stderr.over {
			msg += " …"
		}
		return "; it said: " + msg
	}
	var exitErr *exec.ExitError
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return togetherapi.Sensitive{}, fmt.Errorf("the key command did not finish within %s and was stopped%s", timeout, detail())
	case errors.As(err, &exitErr):
		return togetherapi.Sensitive{}, fmt.Errorf("the key command failed with exit status %d%s", exitErr.ExitCode(), detail())
	case err != nil:
		return togetherapi.Sensitive{}, fmt.Errorf("the key command could not run: %v%s", scrub.Scrub(err.Error()), detail())
	case stdout.over:
		return togetherapi.Sensitive{}, fmt.Errorf("the key command printed more than %d bytes; it should print only the API key", maxKeyCommandOutput)
	case key == "":
		return togetherapi.Sensitive{}, fmt.Errorf("the key command printed nothing on stdout%s", detail())
	}
	return togetherapi.NewSensitive(key), nil
}

// cappedBuffer keeps at most max bytes and notes that more came.
type cappedBuffer struct {
	buf  bytes.Buffer
	max  int
	over bool
}

func (c *cappedBuffer) Write(p []byte) (int, error) {
	n := len(p)
	if room := c.max - c.buf.Len(); n > room {
		c.over = true
		p = p[:max(room, 0)]
	}
	c.buf.Write(p)
	return n, nil // all taken, so the command never blocks on a full pipe
}
