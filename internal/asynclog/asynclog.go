// Package asynclog is an io.Writer that hands log lines to a background
// goroutine, so a tool call's response is never held up by a write to
// stderr, and a burst of calls costs one write for many lines.
//
// It never blocks its callers. A host that does not read the server's
// stderr fills the pipe, and then the buffer; from then on lines are dropped
// and counted, and once a write goes through again a line reporting how many
// were dropped is written.
//
// zerolog's own diode writer comes close and was weighed against this one.
// It never blocks a caller either, but it falls short on two of the four
// things asked here, as of zerolog v1.35: its Close waits for the poller to
// write every buffered line, with no deadline, so a host that never reads
// stderr would hold the exit for ever (Close here gives up after the time
// it is given); and it bounds its buffer by the number of lines, not bytes,
// so what it holds depends on how long the lines are. It does count drops
// and report them, through a callback on its poller.
package asynclog

import (
	"io"
	"sync"
	"time"
)

// Writer buffers writes and writes them to an underlying writer in the
// background. Close flushes what it can and stops it.
type Writer struct {
	out    io.Writer
	max    int
	notice func(dropped int) []byte

	mu      sync.Mutex
	buf     []byte
	spare   []byte
	dropped int
	closed  bool
	ready   *sync.Cond // signalled when buf has data or the writer closes
	done    chan struct{}
}

// New returns a Writer to out that holds at most max bytes; a line that
// does not fit is dropped. notice, if not nil, returns the line written
// once writing works again after lines were dropped, given their count.
func New(out io.Writer, max int, notice func(dropped int) []byte) *Writer {
	w := &Writer{out: out, max: max, notice: notice, done: make(chan struct{})}
	w.ready = sync.NewCond(&w.mu)
	go w.loop()
	return w
}

// Write queues a copy of p, or drops it if the buffer is full. It never
// waits for the underlying writer, and never fails.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf)+len(p) > w.max {
		w.dropped++
		return len(p), nil
	}
	w.buf = append(w.buf, p...)
	w.ready.Signal()
	return len(p), nil
}

// Dropped returns how many lines have been dropped and not yet reported.
func (w *Writer) Dropped() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.dropped
}

func (w *Writer) loop() {
	defer close(w.done)
	w.mu.Lock()
	for {
		for len(w.buf) == 0 && !w.closed {
			w.ready.Wait()
		}
		if len(w.buf) == 0 && w.closed {
			w.mu.Unlock()
			return
		}
		batch := w.buf
		w.buf, w.spare = w.spare[:0], nil
		w.mu.Unlock()
		_, _ = w.out.Write(batch) // a log that cannot be written has nowhere to go
		w.mu.Lock()
		w.spare = batch[:0]
		if w.dropped > 0 && w.notice != nil {
			// The write went through: say what was lost while it did not.
			n := w.dropped
			w.dropped = 0
			w.buf = append(w.buf, w.notice(n)...)
		}
	}
}

// Close writes out what is queued, waiting at most timeout for the
// underlying writer, and stops the background goroutine once it has.
// Writes after Close are queued, and written only if the background
// goroutine is still at work.
func (w *Writer) Close(timeout time.Duration) error {
	w.mu.Lock()
	w.closed = true
	w.ready.Signal()
	w.mu.Unlock()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-w.done:
	case <-t.C:
	}
	return nil
}
