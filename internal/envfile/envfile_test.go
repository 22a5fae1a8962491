package envfile_test

import (
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/together-secrets-mcp/together-secrets-mcp/internal/envfile"
	"github.com/together-secrets-mcp/together-secrets-mcp/internal/envfile/envfiletest"
)

// read writes src to a file and reads it as a configured dotenv file.
func read(t *testing.T, src string) *envfile.File {
	t.Helper()
	path := filepath.Join(t.TempDir(), ".env")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := envfile.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := s.Read()
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func values(f *envfile.File) map[string]string {
	out := map[string]string{}
	for k, v := range f.Vars {
		if v.Problem == "" {
			out[k] = v.Value
		}
	}
	return out
}

func TestReadParsesTheSyntaxPeopleWrite(t *testing.T) {
	s, err := envfile.Open(envfiletest.Path())
	if err != nil {
		t.Fatal(err)
	}
	f, err := s.Read()
	if err != nil {
		t.Fatal(err)
	}
	want := maps.Clone(envfiletest.Values)
	for _, k := range envfiletest.Empty {
		want[k] = ""
	}
	if diff := cmp.Diff(want, values(f)); diff != "" {
		t.Errorf("vars (-want +got):\n%s", diff)
	}
	if len(f.Keys) != len(want) || !slices.IsSorted(f.Keys) || len(f.BadLines) != 0 {
		t.Errorf("keys = %v, bad lines %v; want them all, sorted", f.Keys, f.BadLines)
	}
	for k, line := range envfiletest.Lines {
		if f.Vars[k].Line != line {
			t.Errorf("%s: line %d, want %d", k, f.Vars[k].Line, line)
		}
	}
}

func TestValuesReadersTakeDifferentlyAreRefusedByKeyAndTheRestIsRead(t *testing.T) {
	tests := []struct {
		name    string
		src     string
		want    map[string]string // the values read
		refused map[string]string // key: words its problem holds
		bad     []int             // lines reported as no assignment
	}{
		{name: "a tab escape in double quotes", src: "A=\"CANARY\\tb\"\nB=ok\n",
			want: map[string]string{"B": "ok"}, refused: map[string]string{"A": "single quotes"}},
		{name: "a backslash before a letter", src: "P=\"P@ss\\word-CANARY\"\n", refused: map[string]string{"P": "backslash escape"}},
		{name: "a newline escape", src: "K=\"CANARY-line\\nnext\"\n", refused: map[string]string{"K": "real line break"}},
		{name: "the same in single quotes is kept as written", src: "P='P@ss\\word-CANARY'\nT='a\\tb'\n",
			want: map[string]string{"P": `P@ss\word-CANARY`, "T": `a\tb`}},
		{name: "the escapes every reader agrees on", src: `E="a\\b \"q\" \$HOME"` + "\n", want: map[string]string{"E": `a\b "q" $HOME`}},
		{name: "a backslash unquoted", src: "U=CANARY\\x\n", refused: map[string]string{"U": "unquoted"}},
		{name: "a quote unquoted", src: "U=it's-CANARY\n", refused: map[string]string{"U": "quote"}},
		{name: "a stray dollar", src: "D=pa$$word-CANARY\nE=cost$\n", refused: map[string]string{"D": "starts no variable", "E": "starts no variable"}},
		{name: "a variable the file does not set", src: "X=\"${TOGETHER_API_KEY}\"\nY=$HOME\n", refused: map[string]string{"X": "environment", "Y": "environment"}},
		{name: "a variable set later", src: "X=$LATER\nLATER=CANARY\n", want: map[string]string{"LATER": "CANARY"}, refused: map[string]string{"X": "does not set before"}},
		{name: "a variable whose value was refused", src: "A=\"x\\ty\"\nB=${A}-CANARY\n", refused: map[string]string{"A": "escape", "B": "A, whose value on line 1"}},
		{name: "invalid UTF-8 quoted", src: "U=\"p\xe4ssw\xf6rd-123\"\nV='\xff'\nOK=fine\n", want: map[string]string{"OK": "fine"},
			refused: map[string]string{"U": "UTF-8", "V": "UTF-8"}},
		{name: "invalid UTF-8 unquoted", src: "U=p\xe4ssw\xf6rd-123\n", refused: map[string]string{"U": "UTF-8"}},
		{name: "an invalid name is its line, and the rest is read", src: "A=CANARY-a\nbad key=CANARY-oops\nNOT-A-KEY=CANARY-c\nhunter2\n1X=y\nD=CANARY-d\n",
			want: map[string]string{"A": "CANARY-a", "D": "CANARY-d"}, bad: []int{2, 3, 4, 5}},
		{name: "text after a closing quote", src: "Q='CANARY'x\nR=\"CANARY\" # fine\n", want: map[string]string{"R": "CANARY"}, refused: map[string]string{"Q": "after its closing quote"}},
		{name: "an unclosed quote takes the rest", src: "A=CANARY-a\nB=\"CANARY-b\n\nC=CANARY-c\n", want: map[string]string{"A": "CANARY-a"},
			refused: map[string]string{"B": "never closed, so nothing from line 2 on"}},
		{name: "an unclosed single quote after CRLF", src: "A=CANARY-a\r\nB=x\r\nC='CANARY-c\r\n", want: map[string]string{"A": "CANARY-a", "B": "x"},
			refused: map[string]string{"C": "line 3"}},
		{name: "a later assignment wins, even a refused one", src: "A=first\nA=\"se\\cond\"\n", refused: map[string]string{"A": "escape"}},
		{name: "a colon needs a blank after it", src: "A:b\nC: d\n", want: map[string]string{"C": "d"}, bad: []int{1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := read(t, tt.src)
			want := tt.want
			if want == nil {
				want = map[string]string{}
			}
			if diff := cmp.Diff(want, values(f)); diff != "" {
				t.Errorf("values read (-want +got):\n%s", diff)
			}
			for k, words := range tt.refused {
				v, ok := f.Vars[k]
				if !ok || !strings.Contains(v.Problem, words) || v.Value != "" {
					t.Errorf("%s: %+v, want a problem saying %q and no value", k, v, words)
				}
			}
			var lines []int
			for _, b := range f.BadLines {
				lines = append(lines, b.Line)
				if !strings.Contains(b.Problem, "not a NAME=value assignment") {
					t.Errorf("line %d: %s", b.Line, b.Problem)
				}
			}
			if diff := cmp.Diff(tt.bad, lines); diff != "" {
				t.Errorf("bad lines (-want +got):\n%s", diff)
			}
			for k, v := range f.Vars {
				if v.Problem != "" && (strings.Contains(v.Problem, "CANARY") || strings.Contains(v.Problem, "ssw") || strings.Contains(v.Problem, "oops")) {
					t.Errorf("%s: the problem quotes the file: %s", k, v.Problem)
				}
			}
		})
	}
}

func TestOnlyBoundedRegularFilesAreRead(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.env")
	if err := os.WriteFile(big, []byte("A="+strings.Repeat("x", envfile.MaxBytes)), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := envfile.Open(big)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Read(); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("big file: %v", err)
	}
	for _, p := range []string{dir, "/dev/zero", "/dev/null"} {
		if _, err := envfile.Open(p); !errors.Is(err, envfile.ErrNotRegular) {
			t.Errorf("Open(%s) = %v, want ErrNotRegular", p, err)
		}
	}
	if _, err := envfile.Open(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestARelativePathIsMadeAbsoluteAtOpen(t *testing.T) {
	s, err := envfile.Open(filepath.Join("testdata", "tricky.env"))
	if err != nil {
		t.Fatal(err)
	}
	wd, _ := os.Getwd()
	if s.Path != filepath.Join(wd, "testdata", "tricky.env") {
		t.Errorf("Path = %q", s.Path)
	}
}

func TestAFileSwappedAfterStartUpIsRefused(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "real.env")
	other := filepath.Join(dir, "other.env")
	link := filepath.Join(dir, ".env")
	for _, p := range []string{real, other} {
		if err := os.WriteFile(p, []byte("A=CANARY\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	s, err := envfile.Open(link)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Read(); err != nil {
		t.Fatalf("before the swap: %v", err)
	}
	// Re-pointed at another file, then at the process's environment.
	for _, target := range []string{other, "/proc/self/environ"} {
		_ = os.Remove(link)
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Read(); !errors.Is(err, envfile.ErrMoved) {
			t.Errorf("re-pointed at %s: %v, want ErrMoved", target, err)
		}
	}
	// The file itself rewritten, as an editor saves it: still the same place.
	_ = os.Remove(link)
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(real+".tmp", []byte("A=new\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(real+".tmp", real); err != nil {
		t.Fatal(err)
	}
	if f, err := s.Read(); err != nil || f.Vars["A"].Value != "new" {
		t.Errorf("after an editor's save: %v", err)
	}
}
