// Package audit writes the audit trail: one JSON line per attempted change,
// written and synced before the change is sent, and one for its outcome,
// written before the result is returned. A line that cannot be written in
// time is an error, so the caller can refuse the change (fail closed).
//
// A line is whole or absent: what a failed write (a full disk, a file size
// limit) left of one is cut away before another is written, and while that
// cannot be done every write fails.
//
// Lines go through one writer goroutine, so that a stream that stops taking
// them (a full disk, a pipe nobody reads) makes writes time out instead of
// blocking a call forever. The file is opened for appending, created 0600,
// and reopened by [Log.Reopen], as logrotate expects after SIGHUP.
package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"
	"time"
)

// Stream is the name of the trail in each line, so a log collector reading
// stderr can tell audit lines from the server's log.
const Stream = "together-secrets-mcp/audit"

// Entry is one audit line. It names secrets and never holds a value or a key.
type Entry struct {
	Time string `json:"time"`
	// Stream is always [Stream].
	Stream string `json:"stream"`
	// CallID ties a change's attempt to its outcome, and the lines of one
	// tool call together.
	CallID string `json:"call_id"`
	// Phase is "attempt" (written before anything is sent), "outcome" or
	// "refused" (refused by policy; nothing was sent).
	Phase  string `json:"phase"`
	Tool   string `json:"tool"`
	Action string `json:"action"`
	// Secret is the secret's name as the call gave or found it; SecretID its
	// ID once known.
	Secret   string `json:"secret,omitempty"`
	SecretID string `json:"secret_id,omitempty"`
	// NewName is the name a rename gives the secret.
	NewName string `json:"new_name,omitempty"`
	// Deployment and Variable name what an attach or detach changes.
	Deployment string `json:"deployment,omitempty"`
	Variable   string `json:"variable,omitempty"`
	Outcome    string `json:"outcome,omitempty"`
	// Reason says why a change was refused.
	Reason string `json:"reason,omitempty"`
	// Caller is a fingerprint of the caller's key (HTTP); Client the MCP
	// client's name and version, as it gave them.
	Caller string `json:"caller,omitempty"`
	Client string `json:"client,omitempty"`
	// RequestID is Together's identifier of the last response.
	RequestID string `json:"request_id,omitempty"`
}

// WriteTimeout bounds one line's write and sync.
const WriteTimeout = 2 * time.Second

// ErrUnwritable matches every failure to write a line.
var ErrUnwritable = errors.New("the audit log cannot be written")

// Log is an audit trail. It is safe for concurrent use.
type Log struct {
	path    string
	now     func() time.Time
	timeout time.Duration // WriteTimeout; shorter in tests

	mu   sync.Mutex // guards out, err and torn
	out  io.Writer
	file *os.File // nil for stderr
	err  error    // a reopen that failed: every write fails until one succeeds
	// torn is what a write cut short left of its line, which must be taken
	// back before another line is written.
	torn *fragment

	lines chan line
	stop  chan struct{}
	done  chan struct{}
}

type line struct {
	b    []byte
	done chan error
}

// Open opens the trail at path, creating it 0600, for appending; "-"
// writes to stderr. A path that names no regular file (a directory, a FIFO)
// is refused.
func Open(path string) (*Log, error) {
	l := &Log{path: path, now: time.Now, timeout: WriteTimeout, lines: make(chan line), stop: make(chan struct{}), done: make(chan struct{})}
	if path == "-" {
		l.out = os.Stderr
	} else {
		f, err := openFile(path)
		if err != nil {
			return nil, err
		}
		l.out, l.file = f, f
	}
	go l.run()
	return l, nil
}

func openFile(path string) (*os.File, error) {
	if st, err := os.Stat(path); err == nil && !st.Mode().IsRegular() && st.Mode()&os.ModeCharDevice == 0 {
		return nil, fmt.Errorf("the audit log %s is not a regular file", path)
	}
	// Non-blocking, so that a FIFO with no reader fails at once instead of
	// hanging start-up; what it is is checked next.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|syscall.O_NONBLOCK, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening the audit log: %w", err)
	}
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() && st.Mode()&os.ModeCharDevice == 0 {
		_ = f.Close()
		return nil, fmt.Errorf("the audit log %s is not a regular file", path)
	}
	return f, nil
}

// Path is where the trail is written, "-" for stderr.
func (l *Log) Path() string { return l.path }

// Write writes e as one line and syncs it, stamping its time and stream. It
// returns an error matching ErrUnwritable when the line could not be
// written within WriteTimeout or ctx.
func (l *Log) Write(ctx context.Context, e Entry) error {
	e.Time = l.now().UTC().Format(time.RFC3339Nano)
	e.Stream = Stream
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnwritable, err)
	}
	ln := line{b: append(b, '\n'), done: make(chan error, 1)}
	t := time.NewTimer(l.timeout)
	defer t.Stop()
	select {
	case l.lines <- ln:
	case <-t.C:
		return fmt.Errorf("%w: a write is still waiting after %s", ErrUnwritable, l.timeout)
	case <-ctx.Done():
		return fmt.Errorf("%w: %v", ErrUnwritable, ctx.Err())
	case <-l.stop:
		return fmt.Errorf("%w: it is closed", ErrUnwritable)
	}
	select {
	case err := <-ln.done:
		return err
	case <-t.C:
		return fmt.Errorf("%w: the write did not finish within %s", ErrUnwritable, l.timeout)
	case <-ctx.Done():
		return fmt.Errorf("%w: %v", ErrUnwritable, ctx.Err())
	}
}

func (l *Log) run() {
	defer close(l.done)
	for {
		select {
		case ln := <-l.lines:
			ln.done <- l.write(ln.b)
		case <-l.stop:
			return
		}
	}
}

// fragment is the part of a line that a failed write left in the file,
// from start to end (both -1 where the file's size is not known). whole
// says it is the whole line, whose sync failed: it glues nothing on.
type fragment struct {
	start, end int64
	whole      bool
}

// tornMark ends a fragment that cannot be cut away, so that the next line
// starts a line of its own. It holds no "}", so no fragment of a line, the
// whole object included, reads as JSON with it.
const tornMark = " <the rest of this line was not written>\n"

func (l *Log) write(b []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return l.err
	}
	// A line is whole or absent: none is written after a fragment, which
	// would glue it on, until the fragment is gone.
	if err := l.mend(); err != nil {
		return fmt.Errorf("%w: a line cut short earlier cannot be taken back: %v", ErrUnwritable, err)
	}
	start := l.size()
	n, err := l.out.Write(b)
	if err == nil && l.file != nil {
		if err = l.file.Sync(); err != nil {
			err = fmt.Errorf("syncing: %w", err)
		}
	}
	if err != nil {
		if n > 0 {
			// Taken back at once where it can be; the next write tries again.
			l.torn = &fragment{start: start, end: -1, whole: n == len(b)}
			if start >= 0 {
				l.torn.end = start + int64(n)
			}
			_ = l.mend()
		}
		return fmt.Errorf("%w: %v", ErrUnwritable, err)
	}
	return nil
}

// size is the file's size, or -1 where there is no file to cut back.
func (l *Log) size() int64 {
	if l.file == nil {
		return -1
	}
	st, err := l.file.Stat()
	if err != nil {
		return -1
	}
	return st.Size()
}

// mend takes back the fragment a failed write left, if any: it cuts the
// file back to where the line began, if nothing was appended after it; if
// that cannot be done (stderr, a failing disk) it ends the fragment with
// tornMark, so that it reads as no line at all. A fragment another process
// has appended to is left to what follows it, which is not this log's to
// end.
func (l *Log) mend() error {
	t := l.torn
	if t == nil {
		return nil
	}
	if t.start >= 0 {
		size := l.size()
		if size == t.end && l.file.Truncate(t.start) == nil || size >= 0 && size != t.end {
			l.torn = nil
			return nil
		}
	}
	if t.whole {
		l.torn = nil // a whole line, if one that could not be synced
		return nil
	}
	n, err := l.out.Write([]byte(tornMark))
	if err != nil {
		if t.end >= 0 {
			t.end += int64(n)
		}
		return err
	}
	l.torn = nil
	return nil
}

// Reopen opens the path again, for a log rotated away under it. If it
// fails, every write fails until a Reopen succeeds: the operator asked for
// the new file, and lines must not go on into the old one unseen.
func (l *Log) Reopen() error {
	if l.file == nil {
		return nil
	}
	f, err := openFile(l.path)
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		l.err = fmt.Errorf("%w: reopening: %v", ErrUnwritable, err)
		return err
	}
	_ = l.mend() // the old file's last chance
	_ = l.file.Close()
	l.out, l.file, l.err, l.torn = f, f, nil, nil
	return nil
}

// Close stops the writer and closes the file. A write still stuck in the
// stream is abandoned.
func (l *Log) Close() error {
	select {
	case <-l.stop:
		return nil
	default:
		close(l.stop)
	}
	select {
	case <-l.done:
	case <-time.After(l.timeout):
		return nil // the writer is stuck holding the file; leave it to exit
	}
	if l.file != nil {
		l.mu.Lock()
		defer l.mu.Unlock()
		_ = l.mend()
		return l.file.Close()
	}
	return nil
}
