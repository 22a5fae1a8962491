package asynclog_test

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/together-secrets-mcp/together-secrets-mcp/internal/asynclog"
)

// slowWriter records writes and can be held up, to fill the buffer.
type slowWriter struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	writes int
	gate   chan struct{}
}

func (s *slowWriter) Write(p []byte) (int, error) {
	if s.gate != nil {
		<-s.gate
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes++
	return s.buf.Write(p)
}

func TestEveryLineArrivesInOrderAfterClose(t *testing.T) {
	defer goleak.VerifyNone(t)
	out := &slowWriter{}
	w := asynclog.New(out, 64) // small, so writers must wait for room
	var want strings.Builder
	for i := range 2000 {
		line := fmt.Sprintf("line %04d\n", i)
		want.WriteString(line)
		if _, err := w.Write([]byte(line)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if out.buf.String() != want.String() {
		t.Error("lines were lost or reordered")
	}
	if _, err := w.Write([]byte("after close\n")); err != nil || !strings.HasSuffix(out.buf.String(), "after close\n") {
		t.Errorf("a write after Close was not written through: %v", err)
	}
}

func TestConcurrentWritersLoseNothingAndShareWrites(t *testing.T) {
	defer goleak.VerifyNone(t)
	out := &slowWriter{gate: make(chan struct{})}
	w := asynclog.New(out, 1<<20)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 100 {
				_, _ = fmt.Fprintf(w, "g%d-%03d\n", g, i)
			}
		})
	}
	wg.Wait()
	close(out.gate) // the underlying writer was stuck the whole time
	_ = w.Close()
	if got := strings.Count(out.buf.String(), "\n"); got != 800 {
		t.Errorf("%d lines arrived, want 800", got)
	}
	if out.writes >= 800 {
		t.Errorf("%d writes for 800 lines; lines written while one was under way should be batched", out.writes)
	}
}
