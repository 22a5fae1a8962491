package envfile_test

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/together-secrets-mcp/together-secrets-mcp/internal/envfile"
)

func TestKernelFilesThatPassForRegularAreRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	link := filepath.Join(dir, ".env")
	if err := os.Symlink("/proc/self/environ", link); err != nil {
		t.Fatal(err)
	}
	if _, err := envfile.Open(link); !errors.Is(err, envfile.ErrPseudoFS) {
		t.Errorf("a link to /proc/self/environ: %v, want ErrPseudoFS", err)
	}
	if _, err := envfile.Open("/proc/self/environ"); !errors.Is(err, envfile.ErrPseudoFS) {
		t.Errorf("/proc/self/environ: %v", err)
	}
	// A sysfs file, where this machine has one: it too passes for regular.
	for _, f := range []string{"/sys/kernel/mm/transparent_hugepage/enabled", "/sys/kernel/uevent_seqnum", "/sys/power/state"} {
		if st, err := os.Stat(f); err != nil || !st.Mode().IsRegular() {
			continue
		}
		if _, err := envfile.Open(f); !errors.Is(err, envfile.ErrPseudoFS) {
			t.Errorf("%s: %v, want ErrPseudoFS", f, err)
		}
	}
}

func TestAFIFOIsRefusedWithoutWaiting(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.env")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := envfile.Open(fifo); done <- err }()
	select {
	case err := <-done:
		if !errors.Is(err, envfile.ErrNotRegular) {
			t.Errorf("Open(FIFO) = %v, want ErrNotRegular", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Open waited on a FIFO")
	}

	// A FIFO swapped in for the file after start-up.
	path := filepath.Join(dir, ".env")
	if err := os.WriteFile(path, []byte("A=b\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := envfile.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	_ = os.Remove(path)
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	go func() { _, err := s.Read(); done <- err }()
	select {
	case err := <-done:
		if !errors.Is(err, envfile.ErrNotRegular) {
			t.Errorf("Read of a swapped-in FIFO = %v, want ErrNotRegular", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Read waited on a FIFO")
	}
}
