package audit

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func readLines(t *testing.T, path string) []Entry {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []Entry
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e Entry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		out = append(out, e)
	}
	return out
}

func TestLinesAreAppendedToAPrivateFileAndReopenedAfterRotation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	if err := os.WriteFile(path, []byte(`{"stream":"earlier"}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.Write(t.Context(), Entry{Tool: "create_secret", Phase: "attempt", Secret: "A"}); err != nil {
		t.Fatal(err)
	}
	if lines := readLines(t, path); len(lines) != 2 || lines[0].Stream != "earlier" || lines[1].Stream != Stream || lines[1].Secret != "A" || lines[1].Time == "" {
		t.Errorf("lines = %+v", lines)
	}
	// logrotate moves the file away, then signals.
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	if err := l.Reopen(); err != nil {
		t.Fatal(err)
	}
	if err := l.Write(t.Context(), Entry{Secret: "B"}); err != nil {
		t.Fatal(err)
	}
	if lines := readLines(t, path); len(lines) != 1 || lines[0].Secret != "B" {
		t.Errorf("the new file holds %+v", lines)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("the new file is %v, %v", st.Mode(), err)
	}
}

func TestAStalledStreamMakesWritesFailInsteadOfHanging(t *testing.T) {
	r, w := io.Pipe() // nobody reads r
	defer r.Close()
	l := &Log{path: "-", now: time.Now, timeout: 50 * time.Millisecond, out: w, lines: make(chan line), stop: make(chan struct{}), done: make(chan struct{})}
	go l.run()
	for range 3 {
		start := time.Now()
		err := l.Write(t.Context(), Entry{Secret: "A"})
		if !errors.Is(err, ErrUnwritable) {
			t.Fatalf("err = %v", err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("a write took %v", d)
		}
	}
	_ = l.Close()
}

func TestAFailedReopenFailsEveryWriteUntilOneSucceeds(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_ = os.Remove(path)
	if err := os.Mkdir(path, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := l.Reopen(); err == nil {
		t.Fatal("reopened onto a directory")
	}
	if err := l.Write(t.Context(), Entry{}); !errors.Is(err, ErrUnwritable) || !strings.Contains(err.Error(), "reopening") {
		t.Errorf("write after a failed reopen: %v", err)
	}
	_ = os.Remove(path)
	if err := l.Reopen(); err != nil {
		t.Fatal(err)
	}
	if err := l.Write(t.Context(), Entry{Secret: "C"}); err != nil {
		t.Errorf("write after a good reopen: %v", err)
	}
}
