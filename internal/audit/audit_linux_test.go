package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/together-secrets-mcp/together-secrets-mcp/internal/apitest"
)

// fullDiskChild names the variable that makes the test binary, run again
// by TestAWriteCutShortByAFullDiskLeavesNoFragment, play the server whose
// disk fills: it holds the audit log's path.
const fullDiskChild = "AUDIT_TEST_FULL_DISK_LOG"

func TestAWriteCutShortByAFullDiskLeavesNoFragment(t *testing.T) {
	t.Parallel()
	if path := os.Getenv(fullDiskChild); path != "" {
		writeThroughAFullDisk(t, path)
		return
	}
	apitest.NeedsProcess(t)
	// The file size limit is the process's own, so the disk fills in a
	// process of its own: the test binary, run again.
	path := filepath.Join(t.TempDir(), "audit.log")
	cmd := exec.Command(os.Args[0], "-test.run=^TestAWriteCutShortByAFullDiskLeavesNoFragment$", "-test.v")
	cmd.Env = append(os.Environ(), fullDiskChild+"="+path)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the writer whose disk filled failed: %v\n%s", err, out)
	}
	// The writer has no reason to skip that this test would not have
	// skipped for already: a skip there is a check that did not run.
	if !bytes.Contains(out, []byte("--- PASS: TestAWriteCutShortByAFullDiskLeavesNoFragment")) {
		t.Fatalf("the writer whose disk filled did not pass:\n%s", out)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Every line whole, in order: the one before the disk filled and the
	// one after space returned, and nothing of those refused between.
	lines := bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n"))
	var secrets []string
	for _, ln := range lines {
		var e Entry
		if err := json.Unmarshal(ln, &e); err != nil {
			t.Fatalf("a line that is not whole: %q (%v)\nthe log:\n%s", ln, err, b)
		}
		secrets = append(secrets, e.Secret)
	}
	if len(secrets) != 2 || secrets[0] != "BEFORE" || secrets[1] != "AFTER" || !bytes.HasSuffix(b, []byte("\n")) {
		t.Errorf("the log holds %q:\n%s", secrets, b)
	}
}

// writeThroughAFullDisk writes a line, then lets the file grow by only 40
// more bytes, as a full disk would, and writes twice; then, with the space
// back, once more.
func writeThroughAFullDisk(t *testing.T, path string) {
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.Write(t.Context(), Entry{Tool: "create_secret", Phase: "attempt", Secret: "BEFORE"}); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	// Past the limit a write fails with EFBIG, and SIGXFSZ, ignored, would
	// otherwise end the process.
	signal.Ignore(syscall.SIGXFSZ)
	var limit syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &limit); err != nil {
		t.Fatal(err)
	}
	full := limit
	full.Cur = uint64(st.Size()) + 40
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &full); err != nil {
		// Lowering a soft limit is always allowed.
		t.Fatalf("lowering the file size limit to %d: %v", full.Cur, err)
	}
	for _, secret := range []string{"REFUSED1", "REFUSED2"} {
		err := l.Write(t.Context(), Entry{Tool: "create_secret", Phase: "attempt", Secret: secret})
		if !errors.Is(err, ErrUnwritable) {
			t.Errorf("a write past the limit: %v", err)
		}
		if now, err := os.Stat(path); err != nil || now.Size() != st.Size() {
			t.Errorf("after a refused write the log is %d bytes, want %d (%v)", now.Size(), st.Size(), err)
		}
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &limit); err != nil {
		t.Fatal(err)
	}
	if err := l.Write(t.Context(), Entry{Tool: "create_secret", Phase: "attempt", Secret: "AFTER"}); err != nil {
		t.Errorf("a write once space returned: %v", err)
	}
}
