package syncio_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/together-secrets-mcp/together-secrets-mcp/internal/syncio"
)

func TestWritesFromManyGoroutinesStayWhole(t *testing.T) {
	var buf syncio.Buffer
	w := syncio.NewWriter(&buf)
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			line := strings.Repeat(string(rune('a'+i%26)), 1000) + "\n"
			for range 20 {
				_, _ = w.Write([]byte(line))
			}
		})
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 1000 {
		t.Fatalf("%d lines, want 1000", len(lines))
	}
	for _, l := range lines {
		if len(l) != 1000 || strings.Count(l, l[:1]) != 1000 {
			t.Fatalf("a line was torn: %.40q", l)
		}
	}
}
