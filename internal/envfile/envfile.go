// Package envfile reads dotenv files for import, with github.com/joho/godotenv
// doing the parsing (export, comments, single and double quotes, escapes,
// multi-line quoted values, ${VAR} from earlier in the file).
//
// Its errors never quote the file: godotenv's own errors quote the rest of
// the file from the point of failure, values included, so they are turned
// into the file's name and the line number, and nothing more.
package envfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/joho/godotenv"
)

// MaxBytes is the largest dotenv file read.
const MaxBytes = 1 << 20

// File is a parsed dotenv file.
type File struct {
	// Vars maps each key to its value. Later assignments of a key win.
	Vars map[string]string
	// Keys are the file's keys, sorted.
	Keys []string
}

// ErrNotRegular means the path is not a regular file (a directory, a
// device, a pipe), which is never read.
var ErrNotRegular = errors.New("is not a regular file")

// Check opens path and checks that it is a regular file that can be read,
// without reading it: for start-up, so a wrong path fails at once.
func Check(path string) error {
	f, err := open(path)
	if err != nil {
		return err
	}
	return f.Close()
}

func open(path string) (*os.File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	// Stat the open file, not the path, so what is checked is what is read.
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s %w", path, ErrNotRegular)
	}
	return f, nil
}

// Read reads and parses the dotenv file at path, at most MaxBytes of it. A
// parse error names the path and the line, never what the line holds.
func Read(path string) (*File, error) {
	f, err := open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	src, err := io.ReadAll(io.LimitReader(f, MaxBytes+1))
	defer clear(src)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if len(src) > MaxBytes {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, MaxBytes)
	}
	vars, err := godotenv.UnmarshalBytes(src)
	if err != nil {
		return nil, &ParseError{Path: path, Line: failedLine(src, err), Reason: reason(err)}
	}
	keys := make([]string, 0, len(vars))
	for k := range vars {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return &File{Vars: vars, Keys: keys}, nil
}

// ParseError is a dotenv file that cannot be parsed. It says where, and
// why in general words, never quoting the file.
type ParseError struct {
	Path   string
	Line   int // from 1; 0 when it could not be told
	Reason string
}

func (e *ParseError) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s cannot be parsed as a dotenv file: %s", e.Path, e.Reason)
	}
	return fmt.Sprintf("%s, line %d, cannot be parsed as a dotenv file: %s", e.Path, e.Line, e.Reason)
}

// reason says what godotenv found wrong, in words of its own.
func reason(err error) string {
	switch msg := err.Error(); {
	case strings.HasPrefix(msg, "unexpected character"):
		return "a variable name may hold only letters, digits, '_' and '.', followed by '=' or ':'"
	case strings.HasPrefix(msg, "unterminated quoted value"):
		return "a quoted value is not closed"
	}
	return "the line is not a KEY=value assignment"
}

// failedLine finds the line godotenv failed at. Its errors quote the text
// from the failure on, which is a part of src: where that part starts is
// where it failed.
func failedLine(src []byte, err error) int {
	norm := bytes.ReplaceAll(src, []byte("\r\n"), []byte("\n"))
	msg := err.Error()
	var rest []byte
	if i := strings.LastIndex(msg, " near "); strings.HasPrefix(msg, "unexpected character") && i >= 0 {
		if s, uerr := strconv.Unquote(msg[i+len(" near "):]); uerr == nil {
			rest = []byte(s)
		}
	} else if s, ok := strings.CutPrefix(msg, "unterminated quoted value "); ok {
		rest = []byte(s)
	}
	if len(rest) == 0 {
		return 0
	}
	// The last place: the failure's text runs to the end of the file or of
	// its line, and nothing after an unclosed quote closes it.
	at := bytes.LastIndex(norm, rest)
	if at < 0 {
		return 0
	}
	return 1 + bytes.Count(norm[:at], []byte("\n"))
}
