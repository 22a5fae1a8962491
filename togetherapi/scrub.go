package togetherapi

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// Scrubber removes a set of sensitive strings (the API key, the values in
// play) from text. It is the one scrubber every text the program writes goes
// through. Its rule:
//
//   - Text is read in every spelling it may hold: as it is, and with its JSON
//     escapes decoded (\uXXXX in either case and with surrogate pairs, \/, \",
//     \\, \n and the rest), once and again for JSON quoted inside JSON. So an
//     error body written by any encoder is read the way it decodes.
//   - A string of six characters or more is found wherever it
//     stands; a shorter one only as a whole token, with no letter, digit or
//     "_" on either side, so that a value such as "e" or "2026" does not tear
//     words, IDs and timestamps apart.
//   - Every match of every string is found in the text as given, and the
//     union of their places is replaced by [Redacted] in one pass. A value
//     that occurs inside the key therefore never splits the key: the key's
//     whole place is replaced, and nothing of it is left to read.
//
// The zero Scrubber removes nothing.
type Scrubber []Sensitive

// maxUnescape is how many levels of JSON quoting inside JSON are read.
const maxUnescape = 4

// Scrub returns text with every sensitive string replaced by [Redacted].
func (s Scrubber) Scrub(text string) string {
	spans := s.find(text, false)
	if len(spans) == 0 {
		return text
	}
	return redact(text, spans)
}

// Bounded returns text scrubbed and cut to at most about n bytes, on a rune
// boundary, with "…" marking a cut. It scrubs before it cuts, since a cut
// could leave part of a sensitive string that no longer matches, and again
// after, since a cut can make a whole token of part of a word; should that
// lengthen the text past n, it cuts shorter. Every cut of text that may hold
// a value or a key goes through here.
func (s Scrubber) Bounded(text string, n int) string {
	text = s.Scrub(text)
	for m := n; ; m -= len(Redacted) {
		c := s.Scrub(cutAt(text, max(m, 0)))
		if len(c) <= n+len("…") || m <= 0 {
			return c
		}
	}
}

// Reach is the most bytes any of s's strings can take in the spellings
// Scrub reads (each byte escaped as \uXXXX, and quoted again up to
// maxUnescape levels), plus a margin. Text cut from a longer stream can end
// in part of one; dropping the last Reach bytes before scrubbing leaves none.
func (s Scrubber) Reach() int {
	longest := 0
	for _, v := range s {
		longest = max(longest, len(v.s))
	}
	return longest*(6<<maxUnescape) + 16
}

// contained reports whether text holds any sensitive string, by the rule
// Scrub removes them by.
func (s Scrubber) contained(text string) bool {
	return len(s.find(text, true)) > 0
}

// Withholds reports whether the metadata field key, holding value, is to be
// withheld whole rather than scrubbed, so that an ID or a timestamp is never
// returned torn: it carries a sensitive string, and it is not a field whose
// documented shape cannot carry one (the constant object type, well-formed
// timestamps), which is Together's own whatever value a secret has.
func (s Scrubber) Withholds(key, value string) bool {
	return !isShapedField(key, value) && s.carries(value)
}

// carries reports whether a metadata field carries a sensitive string: holds
// one of six characters or more anywhere, in any spelling, or is, whole, a
// shorter one.
func (s Scrubber) carries(field string) bool {
	if field == "" {
		return false
	}
	var short []Sensitive
	for _, v := range s {
		if v.IsZero() {
			continue
		}
		if !v.long {
			short = append(short, v)
		} else if (Scrubber{v}).contained(field) {
			return true
		}
	}
	if len(short) == 0 {
		return false
	}
	for _, vw := range views(field) {
		for _, v := range short {
			if vw.text == v.s {
				return true
			}
		}
	}
	return false
}

// view is a spelling of the text: the text itself, or the text with one
// more level of JSON escapes decoded. start and end map each byte of view
// text to the bytes of the original text it was decoded from; nil for the
// text itself.
type view struct {
	text       string
	start, end []int32
}

// span is a range of bytes of the original text.
type span struct{ lo, hi int }

func (vw view) orig(lo, hi int) span {
	if vw.start == nil {
		return span{lo, hi}
	}
	return span{int(vw.start[lo]), int(vw.end[hi-1])}
}

// views returns text and each distinct decoding of it, up to maxUnescape
// levels deep.
func views(text string) []view {
	out := []view{{text: text}}
	for i := 0; i < maxUnescape; i++ {
		last := out[len(out)-1]
		if strings.IndexByte(last.text, '\\') < 0 {
			break
		}
		next, changed := unescape(last)
		if !changed {
			break
		}
		out = append(out, next)
	}
	return out
}

// find returns the places in text, as given, of every sensitive string, by
// the rule in the type's comment. With first, it stops at the first.
func (s Scrubber) find(text string, first bool) []span {
	live := 0
	for _, v := range s {
		if !v.IsZero() && len(v.s) <= len(text) {
			live++
		}
	}
	if live == 0 {
		return nil
	}
	var spans []span
	for _, vw := range views(text) {
		for _, v := range s {
			if v.IsZero() {
				continue
			}
			for from := 0; from+len(v.s) <= len(vw.text); {
				i := strings.Index(vw.text[from:], v.s)
				if i < 0 {
					break
				}
				i += from
				j := i + len(v.s)
				// Overlapping matches are all found: their union is redacted.
				_, size := utf8.DecodeRuneInString(vw.text[i:])
				from = i + size
				if !v.long && !(isTokenEdge(vw.text, i, true) && isTokenEdge(vw.text, j, false)) {
					continue
				}
				spans = append(spans, vw.orig(i, j))
				if first {
					return spans
				}
			}
		}
	}
	return spans
}

// isTokenEdge reports whether position i of text is the edge of a token: no
// word character just before it (before=true) or just at it (before=false).
func isTokenEdge(text string, i int, before bool) bool {
	var r rune
	if before {
		if i == 0 {
			return true
		}
		r, _ = utf8.DecodeLastRuneInString(text[:i])
	} else {
		if i >= len(text) {
			return true
		}
		r, _ = utf8.DecodeRuneInString(text[i:])
	}
	return !(r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r))
}

// redact replaces the union of spans in text with Redacted.
func redact(text string, spans []span) string {
	slices.SortFunc(spans, func(a, b span) int { return a.lo - b.lo })
	var b strings.Builder
	b.Grow(len(text))
	done := 0
	for i := 0; i < len(spans); {
		lo, hi := spans[i].lo, spans[i].hi
		for i++; i < len(spans) && spans[i].lo <= hi; i++ {
			hi = max(hi, spans[i].hi)
		}
		if lo < done {
			lo = done
		}
		b.WriteString(text[done:lo])
		b.WriteString(Redacted)
		done = hi
	}
	b.WriteString(text[done:])
	return b.String()
}

// unescape decodes one level of JSON escapes in vw. An escape that is not
// valid JSON is left as it stands. It reports whether anything was decoded.
func unescape(vw view) (view, bool) {
	src := vw.text
	var (
		b          strings.Builder
		start, end []int32
		changed    bool
	)
	b.Grow(len(src))
	start = make([]int32, 0, len(src))
	end = make([]int32, 0, len(src))
	emit := func(s string, lo, hi int) {
		o := vw.orig(lo, hi)
		b.WriteString(s)
		for range len(s) {
			start = append(start, int32(o.lo))
			end = append(end, int32(o.hi))
		}
	}
	var buf [utf8.UTFMax]byte
	for i := 0; i < len(src); {
		if src[i] != '\\' || i+1 >= len(src) {
			emit(src[i:i+1], i, i+1)
			i++
			continue
		}
		var r rune = -1
		n := 2
		switch c := src[i+1]; c {
		case '"', '\\', '/':
			r = rune(c)
		case 'b':
			r = '\b'
		case 'f':
			r = '\f'
		case 'n':
			r = '\n'
		case 'r':
			r = '\r'
		case 't':
			r = '\t'
		case 'u':
			if u, ok := hex4(src, i+2); ok {
				r, n = rune(u), 6
				if utf16.IsSurrogate(r) {
					r = utf8.RuneError
					if lo, ok := hex4(src, i+8); ok && src[i+6] == '\\' && src[i+7] == 'u' {
						if pair := utf16.DecodeRune(rune(u), rune(lo)); pair != utf8.RuneError {
							r, n = pair, 12
						}
					}
				}
			}
		}
		if r < 0 {
			emit(src[i:i+1], i, i+1)
			i++
			continue
		}
		w := utf8.EncodeRune(buf[:], r)
		emit(string(buf[:w]), i, i+n)
		i += n
		changed = true
	}
	return view{text: b.String(), start: start, end: end}, changed
}

// hex4 reads four hex digits, in either case, at s[i:].
func hex4(s string, i int) (uint16, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var u uint16
	for _, c := range []byte(s[i : i+4]) {
		var d byte
		switch {
		case '0' <= c && c <= '9':
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		u = u<<4 | uint16(d)
	}
	return u, true
}
