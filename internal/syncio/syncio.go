// Package syncio makes writers safe to share between goroutines: each
// Write is whole with respect to the others. The protocol's stdout, which
// responses, notifications and error answers share, needs it; so do the
// buffers tests read logs from while the server writes them.
package syncio

import (
	"bytes"
	"io"
	"sync"
)

// Writer passes each Write to an underlying writer whole, one at a time.
type Writer struct {
	mu sync.Mutex
	w  io.Writer
}

// NewWriter returns a Writer over w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

func (l *Writer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// Buffer is a bytes.Buffer that one may write while another reads.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns what was written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
