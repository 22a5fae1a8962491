package envfile_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rs/zerolog"

	"github.com/together-secrets-mcp/together-secrets-mcp/internal/apitest"
	"github.com/together-secrets-mcp/together-secrets-mcp/internal/envfile"
	"github.com/together-secrets-mcp/together-secrets-mcp/internal/envfile/envfiletest"
	"github.com/together-secrets-mcp/together-secrets-mcp/togetherapi"
)

// read writes src to a file and reads it as a configured dotenv file.
func read(t *testing.T, src string) *envfile.File {
	t.Helper()
	_, f := readAt(t, src)
	return f
}

// readAt is read for a test that also needs the file's path.
func readAt(t *testing.T, src string) (string, *envfile.File) {
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
	return path, f
}

// readFixture reads the shared fixture as a configured dotenv file.
func readFixture(t *testing.T) *envfile.File {
	t.Helper()
	s, err := envfile.Open(envfiletest.Path())
	if err != nil {
		t.Fatal(err)
	}
	f, err := s.Read()
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// checkValues compares the values f read with want, key by key. A value
// read prints as [REDACTED], so a failure names the key and what it was to
// be read as.
func checkValues(t *testing.T, f *envfile.File, want map[string]string) {
	t.Helper()
	read := 0
	for k, v := range f.Vars {
		if v.Problem != "" {
			continue
		}
		read++
		if w, ok := want[k]; !ok {
			t.Errorf("%s: read, and not expected", k)
		} else if v.Value != togetherapi.NewSensitive(w) {
			t.Errorf("%s: not read as %q", k, w)
		}
	}
	if read != len(want) {
		t.Errorf("read %d values, want %d: %v", read, len(want), slices.Sorted(maps.Keys(want)))
	}
}

func TestReadParsesTheSyntaxPeopleWrite(t *testing.T) {
	t.Parallel()
	f := readFixture(t)
	want := maps.Clone(envfiletest.Values)
	for _, k := range envfiletest.Empty {
		want[k] = ""
	}
	checkValues(t, f, want)
	if len(f.Keys) != len(want) || !slices.IsSorted(f.Keys) || len(f.BadLines) != 0 {
		t.Errorf("keys = %v, bad lines %v; want them all, sorted", f.Keys, f.BadLines)
	}
	for k, line := range envfiletest.Lines {
		if f.Vars[k].Line != line {
			t.Errorf("%s: line %d, want %d", k, f.Vars[k].Line, line)
		}
	}
}

func TestAReadFilePrintsNoValueHoweverItIsPrinted(t *testing.T) {
	f := readFixture(t)
	v := f.Vars["PLAIN"]
	j, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	logger := zerolog.New(&logged)
	logger.Info().Interface("file", f).Any("var", v).Msgf("%v", f.Vars)
	text := strings.Join([]string{
		fmt.Sprint(f, v, &v), fmt.Sprintf("%+v %#v %v %s %q %x", f, f, f.Vars, v.Value, v.Value, v.Value), fmt.Sprintln(f.Vars),
		string(j), logged.String(),
	}, "\n")
	for k, value := range envfiletest.Values {
		// A value too short to be told from the words around it is left
		// to the scrubber's token rule.
		if len(value) >= 6 && strings.Contains(text, value) {
			t.Errorf("the value of %s prints", k)
		}
	}
	if strings.Contains(text, "CANARY") {
		t.Error("a value prints")
	}
}

func TestValuesReadersTakeDifferentlyAreRefusedByKeyAndTheRestIsRead(t *testing.T) {
	t.Parallel()
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
		{name: "escapes node dotenv keeps as written", src: `E="a\\b"` + "\n" + `Q="\"q\""` + "\n" + `D="\$HOME"` + "\n",
			refused: map[string]string{"E": "node dotenv keep", "Q": "node dotenv keep", "D": "put the value in single quotes"}},
		{name: "two backslashes, or one at the end, in single quotes", src: "A='a\\\\b-CANARY'\nB='CANARY\\'\n",
			refused: map[string]string{"A": "python-dotenv reads as an escape", "B": "another way than a dotenv file"}},
		{name: "a brace after a dollar in single quotes", src: "A='${HOME}-CANARY'\nB='$HOME-CANARY'\n",
			want: map[string]string{"B": "$HOME-CANARY"}, refused: map[string]string{"A": "python-dotenv expands"}},
		{name: "a backslash unquoted", src: "U=CANARY\\x\n", refused: map[string]string{"U": "unquoted"}},
		{name: "a quote unquoted", src: "U=it's-CANARY\n", refused: map[string]string{"U": "in double quotes"}},
		{name: "a dollar anywhere but in single quotes", src: "X=\"${TOGETHER_API_KEY}\"\nY=$HOME\nA=CANARY\nB=${A}-x\nC=\"$A\"\nD=pa$$word-CANARY\n",
			want: map[string]string{"A": "CANARY"}, refused: map[string]string{"X": "node dotenv keeps", "Y": "write the value out in full", "B": "expands only as ${NAME}", "C": "single quotes", "D": "$"}},
		{name: "text right after a closing quote, a # too", src: "A=\"CANARY\"#x\nB='CANARY'#x\nC=\"CANARY\"x\nD=\"CANARY\" # fine\n",
			want: map[string]string{"D": "CANARY"}, refused: map[string]string{"A": "bash joins", "B": "after its closing quote", "C": "after its closing quote"}},
		{name: "a tilde bash expands", src: "H=~/path\nP=/a:~/b\nT=~\nK=a~b\nE=a=~/x\n",
			want: map[string]string{"K": "a~b", "E": "a=~/x"}, refused: map[string]string{"H": "home folder", "P": "after a :", "T": "~"}},
		{name: "backquotes", src: "A=`id`\nB=\"CANARY`id`\"\n", refused: map[string]string{"A": "backquote", "B": "runs as a command"}},
		{name: "a hash at the start of a value", src: "A=#text\nB=CANARY#x\nC=CANARY #comment\n",
			want: map[string]string{"C": "CANARY"}, refused: map[string]string{"A": "node dotenv", "B": "start of a comment"}},
		{name: "a comment that holds a blank and # again", src: "A=CANARY # one # two\nB=CANARY # one#two\n",
			want: map[string]string{"B": "CANARY"}, refused: map[string]string{"A": "godotenv"}},
		{name: "an array", src: "A=(a b)\nB=(CANARY)\n", refused: map[string]string{"A": "an array", "B": "an array"}},
		{name: "redirections and command separators", src: "A=CANARY>/dev/null\nB=a<b\nC=a;b\nD=a&b\nE=a|b\n",
			refused: map[string]string{"A": "a redirection", "B": "single quotes", "C": "a command", "D": "; & |", "E": "; & |"}},
		{name: "blanks inside an unquoted value", src: "A=CANARY two\nB=CANARY\t# tab before the comment\nC=\"CANARY two\"\n",
			want: map[string]string{"C": "CANARY two"}, refused: map[string]string{"A": "start of a command", "B": "blank inside"}},
		{name: "blanks around =", src: "A = CANARY\nB= CANARY\nC=  \nD= # c\nexport E =x\n",
			want: map[string]string{"C": ""}, refused: map[string]string{"A": "no blank on either side", "B": "command to run", "D": "blank before or after", "E": "blank"}},
		{name: "a colon for =", src: "A: CANARY\nB:c\n", refused: map[string]string{"A": "': ' where = belongs"}, bad: []int{2}},
		{name: "a name with a dot", src: "dotted.key=CANARY\n", refused: map[string]string{"dotted.key": "bash cannot set"}},
		{name: "CRLF line ends", src: "# c\r\n\r\nA=CANARY-a\r\nB='CANARY-b'\r\nC=\"CANARY\r\nc\"\nD=ok\n", want: map[string]string{"D": "ok"},
			refused: map[string]string{"A": "LF line ends", "B": "carriage return", "C": "carriage return"}},
		{name: "invalid UTF-8 quoted", src: "U=\"p\xe4ssw\xf6rd-123\"\nV='\xff'\nOK=fine\n", want: map[string]string{"OK": "fine"},
			refused: map[string]string{"U": "UTF-8", "V": "UTF-8"}},
		{name: "invalid UTF-8 unquoted", src: "U=p\xe4ssw\xf6rd-123\n", refused: map[string]string{"U": "UTF-8"}},
		{name: "an invalid name is its line, and the rest is read", src: "A=CANARY-a\nbad key=CANARY-oops\nNOT-A-KEY=CANARY-c\nhunter2\n1X=y\nD=CANARY-d\n",
			want: map[string]string{"A": "CANARY-a", "D": "CANARY-d"}, bad: []int{2, 3, 4, 5}},
		{name: "an unclosed quote takes the rest", src: "A=CANARY-a\nB=\"CANARY-b\n\nC=CANARY-c\n", want: map[string]string{"A": "CANARY-a"},
			refused: map[string]string{"B": "never closed, so nothing from line 2 on"}},
		{name: "an unclosed single quote", src: "A=CANARY-a\nB=x\nC = 'CANARY-c\n", want: map[string]string{"A": "CANARY-a", "B": "x"},
			refused: map[string]string{"C": "line 3"}},
		{name: "a later assignment wins, even a refused one", src: "A=first\nA=\"se\\cond\"\n", refused: map[string]string{"A": "escape"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := read(t, tt.src)
			checkRead(t, f, tt.want, tt.refused, tt.bad)
		})
	}
}

// checkRead compares what f read with the values want, the problems of the
// keys refused (by words each holds), and the lines bad.
func checkRead(t *testing.T, f *envfile.File, want, refused map[string]string, bad []int) {
	t.Helper()
	if want == nil {
		want = map[string]string{}
	}
	checkValues(t, f, want)
	for k, words := range refused {
		v, ok := f.Vars[k]
		if !ok || !strings.Contains(v.Problem, words) || !v.Value.IsZero() {
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
	if diff := cmp.Diff(bad, lines); diff != "" {
		t.Errorf("bad lines (-want +got):\n%s", diff)
	}
	for k, v := range f.Vars {
		if v.Problem != "" && (strings.Contains(v.Problem, "CANARY") || strings.Contains(v.Problem, "ssw") || strings.Contains(v.Problem, "oops")) {
			t.Errorf("%s: the problem quotes the file: %s", k, v.Problem)
		}
	}
}

func TestARefusedValueIsReportedOnTheLineItStarts(t *testing.T) {
	t.Parallel()
	f := read(t, "# c\nA=ok\nB=\"multi\nline\"\nC=\"x$y\"\n")
	if f.Vars["C"].Line != 5 || f.Vars["C"].Problem == "" {
		t.Errorf("C: %+v", f.Vars["C"])
	}
}

func TestEveryValueReadIsWhatBashReads(t *testing.T) {
	t.Parallel()
	// bash sourcing the file with set -a is one of the readers the rule
	// agrees with: every value this parser reads, bash must read the same.
	apitest.NeedsProcess(t)
	bash := apitest.NeedsTool(t, "bash")
	fixture, err := os.ReadFile(envfiletest.Path())
	if err != nil {
		t.Fatal(err)
	}
	for _, src := range []string{
		string(fixture),
		"A=a~b\nB=a=~/x\nC=x # c#d\nD=''  # c\nE=  \nF='$HOME \\n'\nG=\"a # b ! c\"\nH='a\nb' # c\nI=http://h/p?q=1&r\n",
	} {
		path, f := readAt(t, src)
		for _, k := range f.Keys {
			v := f.Vars[k]
			if v.Problem != "" {
				continue
			}
			cmd := exec.Command(bash, "-c", `set -a; . "$1" >/dev/null 2>&1; printf %s "${!2-(unset)}"`, "bash", path, k)
			cmd.Env = []string{"HOME=/nonexistent", "PATH=/nonexistent"}
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("bash: %v", err)
			}
			if togetherapi.NewSensitive(string(out)) != v.Value {
				t.Errorf("%s: bash reads %q, and the parser read another value", k, out)
			}
		}
	}
}

func TestOnlyBoundedRegularFilesAreRead(t *testing.T) {
	t.Parallel()
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
	t.Parallel()
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
	t.Parallel()
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
	if f, err := s.Read(); err != nil || f.Vars["A"].Value != togetherapi.NewSensitive("new") {
		t.Errorf("after an editor's save: %v", err)
	}
}
