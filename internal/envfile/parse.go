package envfile

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/together-secrets-mcp/together-secrets-mcp/togetherapi"
)

// The rule, exactly: what this parser reads, and what it refuses to guess.
// A value is read only where every common reader of dotenv files agrees on
// it: bash sourcing the file (set -a; . file), docker compose, godotenv,
// python-dotenv and node dotenv. A value they would read differently is not
// read at all: its key gets a Problem saying why and how to write it so
// that they agree, and the rest of the file is read as usual.
//
//   - A line is blank, a comment (its first non-blank character is #), or
//     an assignment: an optional "export" and blanks, a name, = and a
//     value. A name is letters, digits and '_', not starting with a digit.
//     Any other line is reported by its number, and nothing of it is shown.
//   - Refused by their key: a name with '.' (bash sets no such variable), a
//     blank before the = or after it ("KEY = value" and "KEY= value" are
//     commands to bash), and ": " for = (bash and python-dotenv read no
//     assignment). Blanks alone after = are an empty value.
//   - Single quotes keep everything between them as written, line breaks
//     included, but for \ and a backslash before the closing quote
//     (python-dotenv reads them as escapes) and ${ (python-dotenv expands
//     it), which are refused. There is no way to write a single quote.
//   - Double quotes keep everything between them, line breaks included; a
//     backslash, a $ or a backquote inside is refused: bash reads them as an
//     escape, an expansion and a command, and the others each otherwise.
//   - After a closing quote come only blanks, then perhaps a comment:
//     bash joins any other text, # included, to the value.
//   - An unquoted value runs to the end of its line, less a comment that
//     starts with a space and # (and holds no blank and # again), and less
//     the blanks before it. It is refused if what is left holds a blank, a #, a quote, a backslash, a $,
//     a backquote, one of ; & | < > ( ), or a ~ at its start or after a :
//     (bash reads them as commands, redirections, arrays and a home
//     folder, node dotenv cuts a value at #, and the others keep them).
//   - A carriage return in an assignment (a CRLF line end) is refused: bash
//     keeps it in the value, and the others drop it.
//   - A value that is not valid UTF-8 is refused: Together stores text, and
//     would store it altered.
//   - A later assignment of a name replaces an earlier one.
//   - A quoted value that is never closed takes the rest of the file with
//     it: its key is refused, and nothing after it is read.

// Var is one assignment of a file.
type Var struct {
	// Value is the value read, held from the moment it is read as a
	// togetherapi.Sensitive, which prints as [REDACTED] however it is
	// printed; empty when it could not be read.
	Value togetherapi.Sensitive
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
	notAnAssignment = "is not a NAME=value assignment (a name is letters, digits and '_', not starting with a digit)"
	dottedName      = "has a name with a '.', which bash cannot set as a variable while the other readers do; rename it with letters, digits and '_' only"
	blankAroundSign = "has a blank before or after its =, which bash reads as a command to run, not an assignment; write NAME=value with no blank on either side of the ="
	colonSign       = "has ': ' where = belongs, which bash and python-dotenv do not read as an assignment; write NAME=value"
	badEscape       = "holds a backslash escape inside double quotes other than \\\\, \\\" or \\$, which bash, docker compose and godotenv read differently; " +
		"put the value in single quotes to keep every backslash as written, or write a line break as a real line break inside the double quotes"
	keptEscape = "holds a backslash inside double quotes, which bash and docker compose take as an escape and python-dotenv or node dotenv keep as written; " +
		"put the value in single quotes, where \\, \" and $ stand for themselves"
	doubleDollar = "holds a $ inside double quotes, which bash and docker compose expand, python-dotenv expands only as ${NAME}, and node dotenv keeps as written; " +
		"write the value out in full, in single quotes"
	doubleBackquote = "holds a backquote inside double quotes, which bash runs as a command and the other readers keep; put the value in single quotes"
	singleBackslash = "holds two backslashes in a row, or one before the closing quote, inside single quotes, which python-dotenv reads as an escape and the other readers keep; " +
		"no spelling of such a value reads the same to every reader, so give this one another way than a dotenv file"
	singleDollarBrace = "holds ${ inside single quotes, which python-dotenv expands and the other readers keep as written; " +
		"no spelling of such a value reads the same to every reader, so give this one another way than a dotenv file"
	unquotedBlank = "holds a blank inside an unquoted value, which bash reads as the end of the assignment and the start of a command; " +
		"put the value in single or double quotes, and start a comment with a space and #"
	unquotedHash = "holds a # in an unquoted value that starts no comment, which node dotenv takes as the start of a comment and bash, docker compose and python-dotenv keep; " +
		"put the value in single or double quotes"
	unquotedEscape = "holds a backslash in an unquoted value, which bash drops and other readers keep; put the value in single quotes to keep it as written"
	unquotedQuote  = "holds a quote inside an unquoted value, which readers take differently; put a value with ' in double quotes, and one with \" in single quotes"
	unquotedDollar = "holds a $ in an unquoted value, which bash and docker compose expand, python-dotenv expands only as ${NAME}, and node dotenv keeps as written; " +
		"write the value out in full, in single quotes"
	unquotedShell = "holds one of ; & | < > ( ) or a backquote in an unquoted value, which bash reads as a command, a redirection or an array and the other readers keep; " +
		"put the value in single quotes"
	unquotedComment = "has a comment after an unquoted value that holds a blank and # again, which godotenv takes as where the value ends; " +
		"put the value in single or double quotes, or the comment on a line of its own"
	unquotedTilde = "has a ~ at the start of an unquoted value or after a : in it, which bash turns into a home folder and the other readers keep; " +
		"put the value in single or double quotes"
	carriageReturn = "holds a carriage return (the file has Windows line ends), which bash keeps in the value and the other readers drop; save the file with LF line ends"
	afterQuote     = "has text after its closing quote, which bash joins to the value; only blanks, then a comment that starts with #, may follow it"
	notUTF8        = "is not valid UTF-8 text; Together stores text, so it would be stored altered"
)

// parse reads src by the rule above.
func parse(src []byte) *File {
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

// skipBlanks moves past blanks, and reports whether there were any.
func (p *parser) skipBlanks() bool {
	start := p.pos
	for p.pos < len(p.src) && (p.src[p.pos] == ' ' || p.src[p.pos] == '\t') {
		p.pos++
	}
	return p.pos > start
}

// atLineEnd reports whether only a line end, or the end of the file, is
// next.
func (p *parser) atLineEnd() bool {
	rest := p.src[p.pos:]
	return rest == "" || rest[0] == '\n' || rest == "\r" || strings.HasPrefix(rest, "\r\n")
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
	if p.atLineEnd() || p.src[p.pos] == '#' {
		p.restOfLine()
		return
	}
	key, how, ok := p.name()
	if !ok {
		p.restOfLine()
		p.bad(line, notAnAssignment)
		return
	}
	v := Var{Line: line}
	var value string
	switch {
	case p.pos < len(p.src) && p.src[p.pos] == '\'':
		value, v.Problem = p.singleQuoted()
	case p.pos < len(p.src) && p.src[p.pos] == '"':
		value, v.Problem = p.doubleQuoted()
	default:
		value, v.Problem = p.unquoted()
	}
	if !p.stopped {
		// How the name and = are written comes first; but a quote never
		// closed says more, that nothing after it is read.
		v.Problem = firstOf(how, v.Problem)
	}
	if v.Problem == "" && !utf8.ValidString(value) {
		v.Problem = notUTF8
	}
	if v.Problem == "" {
		v.Value = togetherapi.NewSensitive(value)
	}
	p.f.Vars[key] = v
}

// name reads "export NAME=" and the blanks after, reports whether the line
// is an assignment, and returns what is wrong with how the name and = are
// written, if anything.
func (p *parser) name() (key, problem string, ok bool) {
	if rest := p.src[p.pos:]; strings.HasPrefix(rest, "export ") || strings.HasPrefix(rest, "export\t") {
		p.pos += len("export")
		p.skipBlanks()
	}
	start := p.pos
	for p.pos < len(p.src) && isNameByte(p.src[p.pos]) {
		p.pos++
	}
	key = p.src[start:p.pos]
	blankBefore := p.skipBlanks()
	if !validName(key) || p.pos >= len(p.src) {
		return "", "", false
	}
	switch sep := p.src[p.pos]; {
	case sep == '=' && blankBefore:
		problem = blankAroundSign
	case sep == '=':
	case sep == ':' && (p.pos+1 == len(p.src) || strings.IndexByte(" \t\n", p.src[p.pos+1]) >= 0):
		problem = colonSign
	default:
		return "", "", false
	}
	p.pos++
	if p.skipBlanks() && !p.atLineEnd() {
		problem = firstOf(problem, blankAroundSign)
	}
	if strings.IndexByte(key, '.') >= 0 {
		problem = dottedName
	}
	return key, problem, true
}

// closed reads what may follow a closing quote: blanks, then a comment.
func (p *parser) closed() string {
	rest := p.restOfLine()
	if strings.IndexByte(rest, '\r') >= 0 {
		return carriageReturn
	}
	comment := strings.TrimLeft(rest, " \t")
	if comment != "" && (comment[0] != '#' || len(comment) == len(rest)) {
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
	switch {
	case strings.IndexByte(value, '\r') >= 0:
		problem = carriageReturn
	case strings.Contains(value, `\\`) || strings.HasSuffix(value, `\`):
		problem = singleBackslash
	case strings.Contains(value, "${"):
		problem = singleDollarBrace
	}
	return value, firstOf(problem, p.closed())
}

func (p *parser) doubleQuoted() (value, problem string) {
	line := p.line
	var b strings.Builder
	i := p.pos + 1
	for ; i < len(p.src) && p.src[i] != '"'; i++ {
		c := p.src[i]
		switch c {
		case '\\':
			if i+1 == len(p.src) {
				continue
			}
			// Skipped as bash skips it, so that the value ends where it
			// ends to bash.
			i++
			if strings.IndexByte(`\"$`, p.src[i]) >= 0 {
				problem = firstOf(problem, keptEscape)
			} else {
				problem = firstOf(problem, badEscape)
			}
			c = p.src[i]
		case '$':
			problem = firstOf(problem, doubleDollar)
		case '`':
			problem = firstOf(problem, doubleBackquote)
		case '\r':
			problem = firstOf(problem, carriageReturn)
		}
		if c == '\n' {
			p.line++
		}
		b.WriteByte(c)
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
	if strings.IndexByte(raw, '\r') >= 0 {
		return "", carriageReturn
	}
	if i := strings.Index(raw, " #"); i >= 0 {
		// godotenv ends the value at the last blank and #, the others at
		// the first.
		if comment := raw[i+2:]; strings.Contains(comment, " #") || strings.Contains(comment, "\t#") {
			return "", unquotedComment
		}
		raw = raw[:i]
	}
	raw = strings.TrimRight(raw, " \t")
	return raw, unquotedProblem(raw)
}

// unquotedProblem says why an unquoted value is read differently by
// different readers, or returns "".
func unquotedProblem(v string) string {
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case ' ', '\t':
			return unquotedBlank
		case '#':
			return unquotedHash
		case '\\':
			return unquotedEscape
		case '\'', '"':
			return unquotedQuote
		case '$':
			return unquotedDollar
		case '`', ';', '&', '|', '<', '>', '(', ')':
			return unquotedShell
		case '~':
			if i == 0 || v[i-1] == ':' {
				return unquotedTilde
			}
		}
	}
	return ""
}

func isNameByte(c byte) bool {
	return c == '_' || c == '.' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// validName reports whether s is a name by the rule, or one with a '.'.
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
