// Package asynclog is an io.Writer that hands log lines to a background
// goroutine, so a tool call's response is not held up by a write to stderr,
// and a burst of calls costs one write for many lines. It never drops a
// line: when its buffer is full, Write waits.
package asynclog

import (
	"io"
	"sync"
)

// Writer buffers writes and writes them to an underlying writer in the
// background. Close flushes everything and stops it.
type Writer struct {
	out io.Writer
	max int

	mu      sync.Mutex
	buf     []byte
	spare   []byte
	closed  bool
	ready   *sync.Cond // signalled when buf has data or the writer closes
	drained *sync.Cond // signalled when buf has been taken for writing
	done    chan struct{}
}

// New returns a Writer to out that holds at most max bytes before Write
// waits for the background goroutine.
func New(out io.Writer, max int) *Writer {
	w := &Writer{out: out, max: max, done: make(chan struct{})}
	w.ready = sync.NewCond(&w.mu)
	w.drained = sync.NewCond(&w.mu)
	go w.loop()
	return w
}

// Write queues a copy of p. It waits only while the buffer is full. After
// Close it writes p directly.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	for !w.closed && len(w.buf) > 0 && len(w.buf)+len(p) > w.max {
		w.drained.Wait()
	}
	if w.closed {
		w.mu.Unlock()
		return w.out.Write(p)
	}
	w.buf = append(w.buf, p...)
	w.ready.Signal()
	w.mu.Unlock()
	return len(p), nil
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
		w.drained.Broadcast()
		w.mu.Unlock()
		_, _ = w.out.Write(batch) // a log that cannot be written has nowhere to go
		w.mu.Lock()
		w.spare = batch[:0]
	}
}

// Close writes out everything queued and stops the background goroutine.
// Later writes go straight to the underlying writer.
func (w *Writer) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	w.ready.Signal()
	w.drained.Broadcast()
	w.mu.Unlock()
	<-w.done
	return nil
}
