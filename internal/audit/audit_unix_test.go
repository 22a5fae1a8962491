//go:build unix

package audit

import (
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

func TestAPathThatIsNoFileIsRefusedWithoutWaiting(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := Open(fifo)
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Error("a FIFO was accepted")
		}
	case <-time.After(3 * time.Second):
		t.Fatal("opening a FIFO with no reader hung")
	}
	if _, err := Open(dir); err == nil {
		t.Error("a directory was accepted")
	}
}
