package asynclog_test

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/together-secrets-mcp/together-secrets-mcp/internal/apitest"
	"github.com/together-secrets-mcp/together-secrets-mcp/internal/asynclog"
)

// slowWriter records writes and can be held up, to fill the buffer.
type slowWriter struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	writes int
	gate   chan struct{}
}

func (s *slowWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
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

func notice(n int) []byte { return []byte(fmt.Sprintf("dropped %d\n", n)) }

func TestEveryLineArrivesInOrderWhenTheWriterKeepsUp(t *testing.T) {
	defer goleak.VerifyNone(t)
	out := &slowWriter{}
	w := asynclog.New(out, 1<<20, notice)
	var want strings.Builder
	for i := range 2000 {
		line := fmt.Sprintf("line %04d\n", i)
		want.WriteString(line)
		if _, err := w.Write([]byte(line)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	if out.buf.String() != want.String() {
		t.Error("lines were lost or reordered")
	}
}

func TestConcurrentWritersLoseNothingAndShareWrites(t *testing.T) {
	defer goleak.VerifyNone(t)
	out := &slowWriter{gate: make(chan struct{})}
	w := asynclog.New(out, 1<<20, notice)
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
	_ = w.Close(5 * time.Second)
	if got := strings.Count(out.buf.String(), "\n"); got != 800 {
		t.Errorf("%d lines arrived, want 800", got)
	}
	if out.writes >= 800 {
		t.Errorf("%d writes for 800 lines; lines written while one was under way should be batched", out.writes)
	}
}

func TestAWriterThatIsNeverReadNeverBlocksAndTheLossIsReported(t *testing.T) {
	defer goleak.VerifyNone(t)
	out := &slowWriter{gate: make(chan struct{})}
	w := asynclog.New(out, 1000, notice)
	// A host that never reads stderr: every write must still return at once.
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 10000 {
			_, _ = fmt.Fprintf(w, "line %05d\n", i)
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Write blocked on a writer that is never read")
	}
	dropped := w.Dropped()
	if dropped < 9000 {
		t.Errorf("Dropped = %d, want most of the 10000 lines", dropped)
	}
	// Close gives up on a writer that never takes anything.
	start := time.Now()
	_ = w.Close(100 * time.Millisecond)
	if time.Since(start) > 5*time.Second {
		t.Error("Close waited for a writer that never returns")
	}
	// Reading resumes: what was queued arrives, then the count of the rest.
	close(out.gate)
	apitest.WaitWithin(t, 5*time.Second, "the report of the lines dropped", func() bool { return strings.Contains(out.String(), "dropped") })
	got := out.String()
	lines := strings.Count(got, "line ")
	if !strings.Contains(got, fmt.Sprintf("dropped %d\n", dropped)) || lines+dropped != 10000 {
		t.Errorf("%d lines written, %d dropped, report: %q", lines, dropped, got[max(0, len(got)-40):])
	}
}
