// Package linecap bounds the lines a stdio server reads. A JSON-RPC message
// over stdio is one line, and mcp-go reads a line whole, however long, and
// then parses it several times over; a single 50 MB line would cost hundreds
// of megabytes before any check could refuse it. This reader passes lines
// through whole, and drops any line longer than its cap as it streams by,
// reporting the JSON-RPC id it carried (found by a small scanner that keeps
// no more than the id) so that the caller can answer it with an error.
package linecap

import (
	"bytes"
	"encoding/json"
	"io"
)

// Reader passes through lines of at most max bytes, newline included.
type Reader struct {
	r      io.Reader
	max    int
	tooBig func(id json.RawMessage, size int64)
	// Admit, when set, is asked about each whole line within the cap
	// before it is passed on; a line it refuses is dropped, and Admit
	// answers it.
	Admit func(line []byte) bool

	line    []byte // the line being read, while it is within the cap
	out     []byte // complete lines ready to be read
	dropped bool   // the line being read is over the cap
	size    int64  // bytes of the line being read
	scan    idScanner
	buf     []byte
	err     error
}

// NewReader returns a Reader over r. tooBig is called, on the reading
// goroutine, for each line dropped, with the id the line carried ("null"
// when it had none that could be found) and its size.
func NewReader(r io.Reader, max int, tooBig func(id json.RawMessage, size int64)) *Reader {
	return &Reader{r: r, max: max, tooBig: tooBig, buf: make([]byte, 64<<10)}
}

func (c *Reader) Read(p []byte) (int, error) {
	for len(c.out) == 0 {
		if c.err != nil {
			// At the end, a last line without a newline is passed on too.
			if len(c.line) > 0 && !c.dropped {
				c.out, c.line = c.line, nil
				break
			}
			if c.dropped {
				c.finishDropped()
			}
			return 0, c.err
		}
		n, err := c.r.Read(c.buf)
		c.feed(c.buf[:n])
		c.err = err
	}
	n := copy(p, c.out)
	c.out = c.out[n:]
	if len(c.out) == 0 {
		c.out = nil
	}
	return n, nil
}

// feed takes in bytes, moving complete lines to out.
func (c *Reader) feed(b []byte) {
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		chunk := b
		if i >= 0 {
			chunk = b[:i+1]
		}
		b = b[len(chunk):]
		c.size += int64(len(chunk))
		c.scan.feed(chunk)
		if !c.dropped && len(c.line)+len(chunk) > c.max {
			c.dropped, c.line = true, nil
		}
		if !c.dropped {
			c.line = append(c.line, chunk...)
		}
		if i < 0 {
			continue
		}
		switch {
		case c.dropped:
			c.finishDropped()
		case c.Admit != nil && !c.Admit(c.line):
			c.line = nil
		default:
			c.out = append(c.out, c.line...)
			c.line = c.line[:0]
		}
		c.size, c.scan = 0, idScanner{}
	}
}

func (c *Reader) finishDropped() {
	if c.tooBig != nil {
		c.tooBig(c.scan.result(), c.size)
	}
	c.dropped, c.line = false, nil
}

// idScanner finds the value of the top-level "id" of a JSON object fed to
// it in pieces, keeping nothing else.
type idScanner struct {
	depth    int
	inString bool
	escape   bool
	// At depth 1: the key being read, whether a key was just read, and
	// whether the value being read is the id's.
	key      []byte
	readKey  bool
	afterKey bool
	inID     bool
	id       []byte
	done     bool
}

const maxID = 256

func (s *idScanner) feed(b []byte) {
	for _, ch := range b {
		if s.inString {
			s.inStringByte(ch)
		} else {
			s.outsideStringByte(ch)
		}
	}
}

// inStringByte takes one byte inside a JSON string: a key's, the id's, or
// another's.
func (s *idScanner) inStringByte(ch byte) {
	if s.inID && len(s.id) < maxID {
		s.id = append(s.id, ch)
	}
	if s.readKey && !s.escape && ch != '"' && len(s.key) < 8 {
		s.key = append(s.key, ch)
	}
	switch {
	case s.escape:
		s.escape = false
	case ch == '\\':
		s.escape = true
	case ch == '"':
		s.inString = false
		if s.readKey {
			s.readKey, s.afterKey = false, true
		} else if s.inID {
			s.endID()
		}
	}
}

// outsideStringByte takes one byte of JSON structure or of a scalar.
func (s *idScanner) outsideStringByte(ch byte) {
	switch ch {
	case '{', '[', '}', ']':
		s.bracket(ch)
	case '"':
		s.inString = true
		switch {
		case s.depth == 1 && !s.afterKey && !s.inID:
			s.readKey, s.key = true, s.key[:0]
		case s.inID:
			s.id = append(s.id, ch)
		}
	case ':':
		if s.depth == 1 && s.afterKey {
			s.afterKey = false
			s.keyRead()
		}
	case ',':
		if s.depth == 1 {
			if s.inID {
				s.endID()
			}
			s.afterKey = false
		}
	default:
		if s.inID && ch > ' ' && len(s.id) < maxID {
			s.id = append(s.id, ch)
		}
	}
}

// keyRead takes the top-level key just read, before its value.
func (s *idScanner) keyRead() {
	if string(s.key) == "id" {
		s.inID, s.id = true, s.id[:0]
	}
}

// bracket takes an opening or closing brace or bracket.
func (s *idScanner) bracket(ch byte) {
	if ch == '{' || ch == '[' {
		s.depth++
		if s.inID {
			s.inID, s.id = false, nil // an object or array is no id
		}
		return
	}
	if s.depth == 1 && s.inID {
		s.endID()
	}
	s.depth--
}

func (s *idScanner) endID() {
	s.inID, s.done = false, true
}

// result returns the id found, if it is a JSON string or number.
func (s *idScanner) result() json.RawMessage {
	if !s.done || len(s.id) == 0 || len(s.id) >= maxID {
		return json.RawMessage("null")
	}
	var v any
	if err := json.Unmarshal(s.id, &v); err != nil {
		return json.RawMessage("null")
	}
	switch v.(type) {
	case string, float64:
		return json.RawMessage(bytes.Clone(s.id))
	}
	return json.RawMessage("null")
}
