package envfile_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/together-secrets-mcp/together-secrets-mcp/internal/envfile"
)

func TestReadParsesTheSyntaxPeopleWrite(t *testing.T) {
	f, err := envfile.Read("testdata/tricky.env")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"EXPORTED":     "CANARY-exported-1a2b",
		"PLAIN":        "CANARY-plain-3c4d",
		"HASH_INSIDE":  "CANARY-hash#inside-5e6f",
		"SINGLE":       `CANARY-single $NOT_EXPANDED \n stays`,
		"DOUBLE":       "CANARY-double \"quoted\" and\nnewline",
		"MULTI":        "CANARY-multi line one\nline two",
		"YAML_STYLE":   "CANARY-yaml-7a8b",
		"SPACED":       "CANARY-spaced-9c0d",
		"EXPANDED":     "CANARY-plain-3c4d-CANARY-expanded",
		"EMPTY":        "",
		"EMPTY_QUOTED": "",
		"dotted.key":   "CANARY-dotted-1e2f",
		"WINDOWS":      "CANARY-crlf-3a4b",
		"LAST":         "CANARY-crlf-last",
	}
	if diff := cmp.Diff(want, f.Vars); diff != "" {
		t.Errorf("vars (-want +got):\n%s", diff)
	}
	if len(f.Keys) != len(want) || f.Keys[0] != "DOUBLE" {
		t.Errorf("keys = %v, want them sorted", f.Keys)
	}
}

func TestParseErrorsNameTheLineAndNeverQuoteIt(t *testing.T) {
	tests := []struct {
		name, src string
		line      int
		reason    string
	}{
		{"bad key", "A=CANARY-a\nB=CANARY-b\nNOT-A-KEY=CANARY-c\nD=CANARY-d\n", 3, "a variable name may hold only"},
		{"unclosed quote", "A=CANARY-a\nB=\"CANARY-b\n\nC=CANARY-c\n", 2, "a quoted value is not closed"},
		{"unclosed quote after crlf", "A=CANARY-a\r\nB=x\r\nC='CANARY-c\r\n", 3, "a quoted value is not closed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), ".env.production")
			if err := os.WriteFile(path, []byte(tt.src), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := envfile.Read(path)
			var pe *envfile.ParseError
			if !errors.As(err, &pe) || pe.Line != tt.line || !strings.Contains(err.Error(), tt.reason) {
				t.Fatalf("err = %v, want line %d: %s", err, tt.line, tt.reason)
			}
			if strings.Contains(err.Error(), "CANARY") || strings.Contains(err.Error(), "NOT-A-KEY") {
				t.Errorf("the error quotes the file: %v", err)
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("the error does not name the file: %v", err)
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
	if _, err := envfile.Read(big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("big file: %v", err)
	}
	for _, p := range []string{dir, "/dev/zero"} {
		if err := envfile.Check(p); !errors.Is(err, envfile.ErrNotRegular) {
			t.Errorf("Check(%s) = %v, want ErrNotRegular", p, err)
		}
	}
	if err := envfile.Check(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}
