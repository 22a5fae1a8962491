package envfile

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// The rule, exactly: what this parser reads, and what it refuses to guess.
// Readers of dotenv files disagree (bash when the file is sourced, docker
// compose, godotenv and its kin), so a value they would read differently is
// not read at all: its key gets a Problem saying why, and the rest of the
// file is read as usual.
//
//   - A line is blank, a comment (its first non-blank character is #), or
//     an assignment: an optional "export ", a name, optional blanks, = (or
//     ": ", as some readers allow), optional blanks, and a value. A name is
//     letters, digits, '_' and '.', starting with a letter or '_'. Any other
//     line is reported by its number, and nothing of it is shown.
//   - Single quotes keep everything between them as written, line breaks
//     included; there are no escapes, so a value cannot hold a single quote.
//   - Double quotes may span lines. Inside them \\, \" and \$ stand for \,
//     " and $; every other backslash (\n and \t among them) is read
//     differently by different readers, and is refused.
//   - An unquoted value runs to the end of its line, less a comment that
//     starts with blank and # and the blanks before it. A backslash or a
//     quote inside one is refused.
//   - Outside single quotes, ${NAME} and $NAME stand for the value of NAME
//     as set earlier in the file. A name the file has not set is refused
//     (bash and docker compose would read it from their environment), and
//     so is a $ that starts no name.
//   - After a closing quote only blanks and a comment may follow.
//   - A value that is not valid UTF-8 is refused: Together stores text, and
//     would store it altered.
//   - A later assignment of a name replaces an earlier one. CRLF line ends
//     are read as LF.
//   - A quoted value that is never closed takes the rest of the file with
//     it: its key is refused, and nothing after it is read.

// Var is one assignment of a file.
type Var struct {
	Value string
	// Line is the line, from 1, where the assignment starts.
	Line int
	// Problem says why the value cannot be read, in words that never quote
	// it; "" when it was read.
	Problem string
}

// LineProblem is a line that assigns nothing this parser can read.
type LineProblem struct {
	Line    int
	Problem string
}

// problems, in words that quote nothing of the file.
const (
	notAnAssignment = "is not a NAME=value assignment (a name is letters, digits, '_' and '.', starting with a letter or '_')"
	badEscape       = "holds a backslash escape inside double quotes other than \\\\, \\\" or \\$, which bash, docker compose and godotenv read differently; " +
		"put the value in single quotes to keep every backslash as written, or write a line break as a real line break inside the double quotes"
	unquotedEscape = "holds a backslash in an unquoted value, which bash drops and other readers keep; put the value in single quotes to keep it as written"
	unquotedQuote  = "holds a quote inside an unquoted value, which readers take differently; put the value in single quotes, or in double quotes with \\\" for a double quote"
	strayDollar    = "holds a $ that starts no variable name; put the value in single quotes to keep $ as written, or write \\$ inside double quotes"
	unsetVariable  = "refers to a variable the file does not set before it, which bash and docker compose would read from their environment; " +
		"set it earlier in the file, or put the value in single quotes to keep $ as written"
	afterQuote = "has text after its closing quote; only a comment may follow it"
	notUTF8    = "is not valid UTF-8 text; Together stores text, so it would be stored altered"
)

// parse reads src by the rule above.
func parse(src []byte) *File {
	src = bytes.ReplaceAll(src, []byte("\r\n"), []byte("\n"))
	p := &parser{src: string(src), line: 1, f: &File{Vars: map[string]Var{}}}
	for p.pos < len(p.src) && !p.stopped {
		p.assignment()
	}
	for k := range p.f.Vars {
		p.f.Keys = append(p.f.Keys, k)
	}
	slices.Sort(p.f.Keys)
	return p.f
}

type parser struct {
	src     string
	pos     int
	line    int
	f       *File
	stopped bool // an unclosed quote took the rest of the file
}

// restOfLine returns the text up to the end of the line and moves past it.
func (p *parser) restOfLine() string {
	end := strings.IndexByte(p.src[p.pos:], '\n')
	if end < 0 {
		end = len(p.src) - p.pos
	}
	s := p.src[p.pos : p.pos+end]
	p.pos += end
	if p.pos < len(p.src) {
		p.pos++
		p.line++
	}
	return s
}

func (p *parser) skipBlanks() {
	for p.pos < len(p.src) && (p.src[p.pos] == ' ' || p.src[p.pos] == '\t') {
		p.pos++
	}
}

func (p *parser) bad(line int, problem string) {
	p.f.BadLines = append(p.f.BadLines, LineProblem{Line: line, Problem: problem})
}

// assignment reads one line, or one assignment with its value.
func (p *parser) assignment() {
	line := p.line
	p.skipBlanks()
	if p.pos >= len(p.src) {
		return
	}
	if c := p.src[p.pos]; c == '\n' || c == '#' {
		p.restOfLine()
		return
	}
	key, ok := p.name()
	if !ok {
		p.restOfLine()
		p.bad(line, notAnAssignment)
		return
	}
	v := Var{Line: line}
	switch {
	case p.pos < len(p.src) && p.src[p.pos] == '\'':
		v.Value, v.Problem = p.singleQuoted()
	case p.pos < len(p.src) && p.src[p.pos] == '"':
		v.Value, v.Problem = p.doubleQuoted()
	default:
		v.Value, v.Problem = p.unquoted()
	}
	if v.Problem == "" && !utf8.ValidString(v.Value) {
		v.Problem = notUTF8
	}
	if v.Problem != "" {
		v.Value = ""
	}
	p.f.Vars[key] = v
}

// name reads "export NAME =" or "NAME: ", and the blanks after, and
// reports whether the line is an assignment.
func (p *parser) name() (string, bool) {
	if rest := p.src[p.pos:]; strings.HasPrefix(rest, "export ") || strings.HasPrefix(rest, "export\t") {
		p.pos += len("export")
		p.skipBlanks()
	}
	start := p.pos
	for p.pos < len(p.src) && isNameByte(p.src[p.pos]) {
		p.pos++
	}
	key := p.src[start:p.pos]
	p.skipBlanks()
	if !validName(key) || p.pos >= len(p.src) {
		return "", false
	}
	switch sep := p.src[p.pos]; {
	case sep == '=':
	case sep == ':' && (p.pos+1 == len(p.src) || strings.IndexByte(" \t\n", p.src[p.pos+1]) >= 0):
	default:
		return "", false
	}
	p.pos++
	p.skipBlanks()
	return key, true
}

// closed reads what may follow a closing quote: blanks, then a comment.
func (p *parser) closed() string {
	rest := strings.TrimLeft(p.restOfLine(), " \t")
	if rest != "" && rest[0] != '#' {
		return afterQuote
	}
	return ""
}

func (p *parser) unclosed(line int, kind string) (string, string) {
	p.stopped = true
	return "", fmt.Sprintf("opens a %s-quoted value that is never closed, so nothing from line %d on can be read", kind, line)
}

func (p *parser) singleQuoted() (value, problem string) {
	line := p.line
	end := strings.IndexByte(p.src[p.pos+1:], '\'')
	if end < 0 {
		return p.unclosed(line, "single")
	}
	value = p.src[p.pos+1 : p.pos+1+end]
	p.line += strings.Count(value, "\n")
	p.pos += end + 2
	return value, p.closed()
}

func (p *parser) doubleQuoted() (value, problem string) {
	line := p.line
	var b strings.Builder
	i := p.pos + 1
	for ; i < len(p.src) && p.src[i] != '"'; i++ {
		c := p.src[i]
		switch {
		case c == '\\' && i+1 < len(p.src):
			i++
			switch n := p.src[i]; n {
			case '\\', '"', '$':
				b.WriteByte(n)
			default:
				problem = firstOf(problem, badEscape)
				b.WriteByte(n)
			}
			if p.src[i] == '\n' {
				p.line++
			}
		case c == '$':
			n, prob := p.expand(p.src[i:], &b)
			problem = firstOf(problem, prob)
			i += n - 1
		default:
			if c == '\n' {
				p.line++
			}
			b.WriteByte(c)
		}
	}
	if i >= len(p.src) {
		p.line = line
		return p.unclosed(line, "double")
	}
	p.pos = i + 1
	return b.String(), firstOf(problem, p.closed())
}

func (p *parser) unquoted() (value, problem string) {
	raw := p.restOfLine()
	for i := 0; i < len(raw); i++ {
		if raw[i] == '#' && (i == 0 || raw[i-1] == ' ' || raw[i-1] == '\t') {
			raw = raw[:i]
			break
		}
	}
	raw = strings.TrimRight(raw, " \t\r")
	var b strings.Builder
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; c {
		case '\\':
			problem = firstOf(problem, unquotedEscape)
		case '\'', '"':
			problem = firstOf(problem, unquotedQuote)
		case '$':
			n, prob := p.expand(raw[i:], &b)
			problem = firstOf(problem, prob)
			i += n - 1
			continue
		}
		b.WriteByte(raw[i])
	}
	return b.String(), problem
}

// expand reads a reference at the start of s (which starts with $), writes
// its value to b, and returns how many bytes it took.
func (p *parser) expand(s string, b *strings.Builder) (int, string) {
	var name string
	n := 1
	if strings.HasPrefix(s, "${") {
		end := strings.IndexByte(s, '}')
		if end < 0 {
			return 1, strayDollar
		}
		name, n = s[2:end], end+1
	} else {
		for n < len(s) && isNameByte(s[n]) && s[n] != '.' {
			n++
		}
		name = s[1:n]
	}
	if !validName(name) {
		return 1, strayDollar
	}
	v, ok := p.f.Vars[name]
	switch {
	case !ok:
		return n, unsetVariable
	case v.Problem != "":
		return n, fmt.Sprintf("refers to %s, whose value on line %d cannot be read", name, v.Line)
	}
	b.WriteString(v.Value)
	return n, ""
}

func isNameByte(c byte) bool {
	return c == '_' || c == '.' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// validName reports whether s is a name by the rule.
func validName(s string) bool {
	if s == "" || s[0] == '.' || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for i := range len(s) {
		if !isNameByte(s[i]) {
			return false
		}
	}
	return true
}

func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
