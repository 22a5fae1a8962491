package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
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
	t.Parallel()
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
	t.Parallel()
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
	t.Parallel()
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

// failingWriter takes every byte until allow runs out, then fails each
// write after the bytes still allowed.
type failingWriter struct {
	buf   bytes.Buffer
	allow int
}

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) <= w.allow {
		w.allow -= len(p)
		return w.buf.Write(p)
	}
	n, _ := w.buf.Write(p[:w.allow])
	w.allow = 0
	return n, errors.New("no space left on device")
}

func TestAFragmentThatCannotBeCutAwayIsEndedBeforeTheNextLine(t *testing.T) {
	t.Parallel()
	// A stream, such as stderr, cannot be cut back: what a failed write left
	// is ended instead, once there is room, and the next line has a line of
	// its own. Until then every write fails.
	w := &failingWriter{allow: 40}
	l := &Log{path: "-", now: time.Now, timeout: time.Second, out: w, lines: make(chan line), stop: make(chan struct{}), done: make(chan struct{})}
	go l.run()
	defer l.Close()
	for _, secret := range []string{"REFUSED1", "REFUSED2"} {
		if err := l.Write(t.Context(), Entry{Secret: secret}); !errors.Is(err, ErrUnwritable) {
			t.Fatalf("a write with no room: %v", err)
		}
	}
	if w.buf.Len() != 40 {
		t.Fatalf("the stream holds %q", w.buf.String())
	}
	w.allow = 1 << 20
	if err := l.Write(t.Context(), Entry{Secret: "AFTER"}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(w.buf.String(), "\n"), "\n")
	var e Entry
	if len(lines) != 2 || json.Unmarshal([]byte(lines[0]), &e) == nil || json.Unmarshal([]byte(lines[1]), &e) != nil || e.Secret != "AFTER" {
		t.Errorf("the stream holds:\n%s", w.buf.String())
	}
}

func TestNoFragmentReadsAsALineOnceEnded(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal(Entry{Time: "2026-12-02T12:52:37.85Z", Stream: Stream, Phase: "attempt", Tool: "update_secret", Secret: "A", Outcome: "ok"})
	if err != nil {
		t.Fatal(err)
	}
	// Every cut, the whole object without its newline among them.
	for n := 1; n <= len(b); n++ {
		var v any
		if json.Unmarshal([]byte(string(b[:n])+strings.TrimSuffix(tornMark, "\n")), &v) == nil {
			t.Errorf("%q reads as JSON", string(b[:n])+tornMark)
		}
	}
}

// cutWriter appends to f until allow runs out, then fails each write after
// the bytes still allowed, and runs cut once it has.
type cutWriter struct {
	f     *os.File
	allow int
	cut   func()
}

func (w *cutWriter) Write(p []byte) (int, error) {
	if len(p) <= w.allow {
		w.allow -= len(p)
		return w.f.Write(p)
	}
	n, _ := w.f.Write(p[:w.allow])
	w.allow = 0
	if w.cut != nil {
		w.cut()
		w.cut = nil
	}
	return n, errors.New("no space left on device")
}

func TestAFragmentIsCutAwayOrEndedButNeverGluedTo(t *testing.T) {
	t.Parallel()
	const other = `{"stream":"another process"}`
	tests := []struct {
		name string
		// readOnly gives the log a handle it cannot cut the file with.
		readOnly bool
		// appended is what another process appends right after the cut.
		appended string
		want     []string // the lines, "AFTER" for the log's own
	}{
		{"cut back to the last whole line", false, "", []string{"AFTER"}},
		{"ended where it cannot be cut", true, "", []string{"<fragment>" + tornMark[:len(tornMark)-1], "AFTER"}},
		{"left to another process that appended to it", false, other + "\n", []string{"<fragment>" + other, "AFTER"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "audit.log")
			out, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
			if err != nil {
				t.Fatal(err)
			}
			defer out.Close()
			file := out
			if tt.readOnly {
				if file, err = os.Open(path); err != nil {
					t.Fatal(err)
				}
				defer file.Close()
			}
			w := &cutWriter{f: out, allow: 40}
			if tt.appended != "" {
				w.cut = func() { _, _ = out.WriteString(tt.appended) }
			}
			l := &Log{path: path, now: time.Now, timeout: time.Second, out: w, file: file, lines: make(chan line), stop: make(chan struct{}), done: make(chan struct{})}
			go l.run()
			defer l.Close()
			if err := l.Write(t.Context(), Entry{Secret: "REFUSED"}); !errors.Is(err, ErrUnwritable) {
				t.Fatalf("a write with no room: %v", err)
			}
			w.allow = 1 << 20
			if err := l.Write(t.Context(), Entry{Secret: "AFTER"}); err != nil {
				t.Fatal(err)
			}
			b, _ := os.ReadFile(path)
			var got []string
			for _, ln := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
				var e Entry
				switch {
				case json.Unmarshal([]byte(ln), &e) == nil && e.Secret == "AFTER":
					got = append(got, "AFTER")
				case strings.HasPrefix(ln, `{"time":"`):
					got = append(got, "<fragment>"+ln[40:]) // a fragment of the refused line
				default:
					got = append(got, ln)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("the log holds %q, want %q:\n%s", got, tt.want, b)
			}
		})
	}
}
