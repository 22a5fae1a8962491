// Package envfile reads the dotenv files an operator names for import, by a
// rule of its own that every common reader agrees with (see parse.go), so
// that no value is ever stored other than as the user meant it. A value the
// readers would take differently is refused by key, with the line and a
// hint; the rest of the file is read.
//
// It never quotes a file: a problem names the file, the line and the rule,
// and nothing of what the line holds.
//
// A file is what it was at start-up: Open resolves the path once, and each
// Read checks that the path still resolves there, opens it without
// following a last symbolic link and without blocking (a FIFO or a device
// is refused, never waited on), and reads it only if it is a regular file
// on a real file system (not procfs or sysfs, whose files pass for regular
// ones and hold the process's own environment).
package envfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// MaxBytes is the largest dotenv file read.
const MaxBytes = 1 << 20

// File is a parsed dotenv file.
type File struct {
	// Vars maps each key to its last assignment, read or refused.
	Vars map[string]Var
	// Keys are the file's keys, sorted.
	Keys []string
	// BadLines are the lines that assign no key that can be read.
	BadLines []LineProblem
}

// Errors Read and Open return; each wrapped with the path.
var (
	// ErrNotRegular means the path is not a regular file (a directory, a
	// device, a FIFO), which is never read.
	ErrNotRegular = errors.New("is not a regular file")
	// ErrPseudoFS means the file is on a file system of the kernel's own,
	// such as procfs, whose files are not what they seem.
	ErrPseudoFS = errors.New("is on a kernel file system (such as /proc or /sys), not a real one")
	// ErrMoved means the path no longer resolves to the file named at
	// start-up: a link along it was changed.
	ErrMoved = errors.New("no longer leads to the file it named at start-up; a link along the path was changed")
)

// Source is a dotenv file as configured at start-up.
type Source struct {
	// Path is the path as the operator named it, made absolute: what the
	// agent sees and names.
	Path string
	// resolved is where Path led at start-up, every link followed.
	resolved string
}

// Open resolves path, relative to the working directory, and checks that it
// can be read as a dotenv file now, without reading it: for start-up, so a
// wrong path fails at once.
func Open(path string) (Source, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return Source{}, err
	}
	resolved, err := filepath.EvalSymlinks(abs)
	if errors.Is(err, fs.ErrNotExist) {
		return Source{}, fmt.Errorf("%s: %w", abs, fs.ErrNotExist)
	}
	if err != nil {
		return Source{}, err
	}
	s := Source{Path: abs, resolved: resolved}
	f, err := s.open()
	if err != nil {
		return Source{}, err
	}
	return s, f.Close()
}

// open opens the file for reading and checks it is still the one named.
func (s Source) open() (*os.File, error) {
	now, err := filepath.EvalSymlinks(s.Path)
	if err != nil {
		return nil, err
	}
	if now != s.resolved {
		return nil, fmt.Errorf("%s %w", s.Path, ErrMoved)
	}
	f, err := openNoFollow(s.resolved)
	if err != nil {
		return nil, err
	}
	if err := s.check(f); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// check holds an open file to the rules: a regular file, on a real file
// system, the one that was named.
func (s Source) check(f *os.File) error {
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s %w", s.Path, ErrNotRegular)
	}
	if pseudoFS(f) {
		return fmt.Errorf("%s %w", s.Path, ErrPseudoFS)
	}
	if !opened(f, s.resolved) {
		return fmt.Errorf("%s %w", s.Path, ErrMoved)
	}
	return nil
}

// Read reads and parses the file, at most MaxBytes of it.
func (s Source) Read() (*File, error) {
	f, err := s.open()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	src, err := io.ReadAll(io.LimitReader(f, MaxBytes+1))
	defer clear(src)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", s.Path, err)
	}
	if len(src) > MaxBytes {
		return nil, fmt.Errorf("%s is larger than %d bytes", s.Path, MaxBytes)
	}
	return parse(src), nil
}
