// Package keycommand runs the command that prints the API key, and holds
// the rule every source of a key follows: one line, no control character.
// Its errors name no setting; the caller says which one set the command.
package keycommand

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/together-secrets-mcp/together-secrets-mcp/togetherapi"
)

// Bounds of a key command: what it may print, how much of its stderr is
// read, and how much of that an error shows.
const (
	maxKeyCommandOutput  = 64 << 10
	maxKeyCommandStderr  = 64 << 10
	showKeyCommandStderr = 2 << 10
	DefaultTimeout       = 30 * time.Second
	// pipeGrace is how long, once the command has exited, its output may
	// take to end: a child still holding a pipe after it is killed.
	pipeGrace = 200 * time.Millisecond
)

// Run runs line through the shell, the way git credential helpers
// and AWS credential_process do, and returns the one line it printed on
// stdout, trimmed, as the key. Its stdout is never shown; on failure the
// error gives the exit status and the command's stderr, scrubbed of
// whatever stdout held and of the command's words that may be a key before
// it is cut, or withholds the shell's own message that it found nothing to
// run, which repeats the command. A command that outlives timeout is
// killed with every process it started, and so is a child left holding its
// output once it exits: the key is what it printed by then.
func Run(ctx context.Context, line string, timeout time.Duration) (togetherapi.Sensitive, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := shellCommand(ctx, line)
	stdout := &cappedBuffer{max: maxKeyCommandOutput}
	stderr := &cappedBuffer{max: maxKeyCommandStderr}
	defer stdout.clear()
	err := runCapturing(cmd, stdout, stderr)

	out := stdout.String()
	key := strings.TrimSpace(out)
	// Each line may be the key, and so may all of them together; and so
	// may the command's own text, set there by mistake, which the shell
	// and the programs it runs repeat in their errors.
	scrub := append(togetherapi.Scrubber{togetherapi.NewSensitive(key)}, commandWords(line)...)
	lines := Lines(out)
	for _, l := range lines {
		if l != key {
			scrub = append(scrub, togetherapi.NewSensitive(l))
		}
	}
	detail := func() string {
		text, over := stderr.String(), stderr.Over()
		if over {
			// Its end may be part of a key, which no longer matches.
			text = text[:max(len(text)-scrub.Reach(), 0)]
		}
		msg := scrub.Bounded(strings.Join(strings.Fields(scrub.Scrub(text)), " "), showKeyCommandStderr)
		if msg == "" {
			return ""
		}
		if over && !strings.HasSuffix(msg, "…") {
			msg += " …"
		}
		return "; it said: " + msg
	}
	var exitErr *exec.ExitError
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return togetherapi.Sensitive{}, fmt.Errorf("the key command did not finish within %s and was stopped%s", timeout, detail())
	case errors.As(err, &exitErr) && shellCouldNotRun(exitErr.ExitCode()):
		// The shell's message repeats the command's first word, which is
		// the whole command when a key was set there by mistake.
		return togetherapi.Sensitive{}, fmt.Errorf("the key command failed with exit status %d: the shell found no program to run by the command's first word, "+
			"or could not run it (its message is not shown, since it repeats the command, which may be a key set there by mistake); "+
			"the setting takes a command that prints the key, such as op read op://vault/item/credential", exitErr.ExitCode())
	case errors.As(err, &exitErr):
		return togetherapi.Sensitive{}, fmt.Errorf("the key command failed with exit status %d%s", exitErr.ExitCode(), detail())
	case err != nil:
		return togetherapi.Sensitive{}, fmt.Errorf("the key command could not run: %v%s", scrub.Scrub(err.Error()), detail())
	case stdout.Over():
		return togetherapi.Sensitive{}, fmt.Errorf("the key command printed more than %d bytes; it should print only the API key", maxKeyCommandOutput)
	case key == "":
		return togetherapi.Sensitive{}, fmt.Errorf("the key command printed nothing on stdout%s", detail())
	}
	switch {
	case len(lines) > 1:
		return togetherapi.Sensitive{}, fmt.Errorf("the key command printed %d non-empty lines on stdout, and a key is one line: "+
			"make it print only the key, by sending notices to stderr, or by keeping only the key's line: "+
			"| head -n 1 when the key comes first, | tail -n 1 when it comes last", len(lines))
	case Unsendable(key):
		return togetherapi.Sensitive{}, fmt.Errorf("the key command printed %s: make it print only the key", UnsendableWords)
	}
	return togetherapi.NewSensitive(key), nil
}

// shellCouldNotRun reports whether a shell's exit status says it did not
// find (127) or could not execute (126) a command, as POSIX shells and
// cmd.exe's 9009 for "is not recognized" do.
func shellCouldNotRun(status int) bool { return status == 126 || status == 127 || status == 9009 }

// KeyLikeLen is the length from which a word of the key command may be a
// key: shorter than any Together API key, longer than the words of a
// command, such as security or find-generic-password, that its errors
// should keep readable.
const KeyLikeLen = 24

// commandWords are the command line and each of its words that may be a
// key (quotes and shell operators split words), for the scrubber: a key set
// in the command's place, or pasted into it, is repeated by the shell and
// the programs it runs in their errors.
func commandWords(line string) togetherapi.Scrubber {
	var out togetherapi.Scrubber
	words := strings.FieldsFunc(line, func(r rune) bool { return unicode.IsSpace(r) || strings.ContainsRune("'\"`;&|()<>", r) })
	for _, w := range append(words, strings.TrimSpace(line)) {
		if len(w) >= KeyLikeLen {
			out = append(out, togetherapi.NewSensitive(w))
		}
	}
	return out
}

// runCapturing runs cmd with its stdout and stderr read into the given
// buffers. It returns when the command exits, not when its pipes close: a
// child that keeps them open is killed with the command's process group
// after a short grace, and what it wrote by then is kept.
func runCapturing(cmd *exec.Cmd, stdout, stderr *cappedBuffer) error {
	var readers [2]*os.File
	var wg sync.WaitGroup
	for i, buf := range []*cappedBuffer{stdout, stderr} {
		r, w, err := os.Pipe()
		if err != nil {
			return err
		}
		defer r.Close()
		readers[i] = r
		if i == 0 {
			cmd.Stdout = w
		} else {
			cmd.Stderr = w
		}
		defer w.Close()
		wg.Go(func() { _, _ = io.Copy(buf, r) })
	}
	if err := cmd.Start(); err != nil {
		cmd.Stdout.(*os.File).Close()
		cmd.Stderr.(*os.File).Close()
		wg.Wait()
		return err
	}
	// Only the command holds the write ends now.
	cmd.Stdout.(*os.File).Close()
	cmd.Stderr.(*os.File).Close()
	err := cmd.Wait()
	drained := make(chan struct{})
	go func() { wg.Wait(); close(drained) }()
	select {
	case <-drained:
		return err
	case <-time.After(pipeGrace):
	}
	// Something the command started still holds its output.
	killGroup(cmd)
	for _, r := range readers {
		_ = r.SetReadDeadline(time.Now().Add(pipeGrace))
	}
	select {
	case <-drained:
	case <-time.After(2 * pipeGrace):
		// A pipe that cannot take a deadline: go on with what was read.
	}
	return err
}

// cappedBuffer keeps at most max bytes and notes that more came. It is
// safe for one writer and other readers.
type cappedBuffer struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	max  int
	over bool
}

func (c *cappedBuffer) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(p)
	if room := c.max - c.buf.Len(); n > room {
		c.over = true
		p = p[:max(room, 0)]
	}
	c.buf.Write(p)
	return n, nil // all taken, so the command never blocks on a full pipe
}

func (c *cappedBuffer) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}

func (c *cappedBuffer) Over() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.over
}

// clear overwrites what was read, which may be a key.
func (c *cappedBuffer) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.buf.Bytes())
}

// Lines returns the non-empty lines of a key file's contents or a key
// command's output, each trimmed of surrounding blanks; a key is one line.
func Lines(text string) []string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// Unsendable reports whether a key holds a control character, such as a
// tab or a carriage return left within its line: no key does, and most
// cannot be sent in a header at all, so every call would fail as if
// Together were unreachable.
func Unsendable(key string) bool {
	return strings.ContainsFunc(key, func(r rune) bool { return r < 0x20 || r == 0x7f })
}

// UnsendableWords says what Unsendable found, without quoting the key.
const UnsendableWords = "a control character (such as a tab or a carriage return) within the key, which no key holds"
