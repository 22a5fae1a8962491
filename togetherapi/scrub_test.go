package togetherapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/together-secrets-mcp/together-secrets-mcp/togetherapi"
)

func scrubberOf(values ...string) togetherapi.Scrubber {
	var s togetherapi.Scrubber
	for _, v := range values {
		s = append(s, togetherapi.NewSensitive(v))
	}
	return s
}

func TestScrubRemovesEveryEncodingOfTheValue(t *testing.T) {
	t.Parallel()
	s := scrubberOf(canary)
	goJSON, _ := json.Marshal(canary)
	var noHTML bytes.Buffer
	enc := json.NewEncoder(&noHTML)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(canary)
	inner, _ := json.Marshal(map[string]string{"value": canary})
	nested, _ := json.Marshal(map[string]string{"message": string(inner)})
	tests := []struct {
		name, text string
	}{
		{"raw", "error: " + canary + " is bad"},
		{"go json", `{"value":` + string(goJSON) + `}`},
		{"json without html escaping", `{"value":` + noHTML.String() + `}`},
		{"escaped slashes", `{"value":"CANARY-s3cr3t-<&>-\"quoted\"-\/path-é-🔑"}`},
		{"python ascii escapes", `{"value": "CANARY-s3cr3t-<&>-\"quoted\"-/path-\u00e9-\ud83d\udd11"}`},
		{"upper-case hex", `{"value": "CANARY-s3cr3t-\u003C\u0026\u003E-\"quoted\"-/path-\u00E9-\uD83D\uDD11"}`},
		{"every character escaped", `"` + escapeAll(canary) + `"`},
		{"json quoted inside json", string(nested)},
		{"twice", canary + canary},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !s.Contained(tt.text) {
				t.Errorf("Contained(%q) = false", tt.text)
			}
			got := s.Scrub(tt.text)
			if strings.Contains(got, "CANARY") || strings.Contains(got, "s3cr3t") {
				t.Errorf("Scrub(%q) = %q, still holds the value", tt.text, got)
			}
			if !strings.Contains(got, togetherapi.Redacted) {
				t.Errorf("Scrub(%q) = %q, no %s marker", tt.text, got, togetherapi.Redacted)
			}
		})
	}
}

func TestScrubCatchesSpellingsOtherEncodersWrite(t *testing.T) {
	t.Parallel()
	// The spellings an earlier scrubber missed: each is how some encoder
	// writes one character of the value.
	tests := []struct {
		value, spelled string
	}{
		{"abc+def=ghi", `abc\u002Bdef\u003dghi`},
		{"mäßig-geheim", `m\u00e4\u00dfig-geheim`},
		{"mäßig-geheim", `m\u00E4\u00DFig-geheim`},
		{"path/to/key", `path\/to\/key`},
		{"del\x7fcharacter", `del\u007fcharacter`},
		{"tab\tand\nnewline", `tab\tand\nnewline`},
		{"quote\"back\\slash", `quote\"back\\slash`},
		{"emoji-🔑-key", `emoji-\uD83D\uDD11-key`},
	}
	for _, tt := range tests {
		t.Run(tt.spelled, func(t *testing.T) {
			text := `{"error":{"message":"bad request body: {\"value\":\"` + strings.ReplaceAll(tt.spelled, `\`, `\\`) + `\"}"}} raw: ` + tt.spelled
			got := scrubberOf(tt.value).Scrub(text)
			if scrubberOf(tt.value).Contained(got) {
				t.Errorf("Scrub left a spelling of the value:\n%s", got)
			}
			if strings.Count(got, togetherapi.Redacted) != 2 {
				t.Errorf("want both spellings replaced, got %s", got)
			}
		})
	}
}

func TestScrubNeverLeavesPartOfTheKeyWhenTheValueIsInsideIt(t *testing.T) {
	t.Parallel()
	const key = "tgp_live_Xe4be7ee1eEe2"
	for _, value := range []string{"e", "E", "4", "_", "tgp", "live_Xe4", "e7ee1eEe2", "Ee2", key} {
		t.Run(value, func(t *testing.T) {
			s := scrubberOf(value, key)
			for _, text := range []string{
				"Authorization: Bearer " + key + " rejected",
				`{"headers":{"authorization":"Bearer ` + escapeAll(key) + `"}}`,
			} {
				got := s.Scrub(text)
				for n := 3; n <= len(key); n++ {
					for i := 0; i+n <= len(key); i++ {
						if frag := key[i : i+n]; strings.Contains(got, frag) {
							t.Fatalf("Scrub(%q) = %q keeps %q of the key", text, got, frag)
						}
					}
				}
				if strings.Count(got, togetherapi.Redacted) != 1 {
					t.Errorf("Scrub(%q) = %q: want the key replaced whole, once", text, got)
				}
			}
		})
	}
}

func TestShortValuesAreScrubbedAsTokensOnly(t *testing.T) {
	t.Parallel()
	tests := []struct {
		value, text, want string
	}{
		{"e", `secret "object":"secret" id sec-950e74`, `secret "object":"secret" id sec-950e74`},
		{"e", `{"name":"X","value":"e"}`, `{"name":"X","value":"[REDACTED]"}`},
		{"e", `{"value":"\u0065"}`, `{"value":"[REDACTED]"}`},
		{"e", "value e is too short", "value [REDACTED] is too short"},
		{"2026", "created_at 2026-11-26T02:39:03Z, value=2026", "created_at [REDACTED]-11-26T02:39:03Z, value=[REDACTED]"},
		{"true", `{"value":"true","enabled":trueish}`, `{"value":"[REDACTED]","enabled":trueish}`},
		{"prod", "production is not prod", "production is not [REDACTED]"},
		{"+", "a+b and +", "a+b and [REDACTED]"},
	}
	for _, tt := range tests {
		if got := scrubberOf(tt.value).Scrub(tt.text); got != tt.want {
			t.Errorf("value %q: Scrub(%q) =\n %q, want\n %q", tt.value, tt.text, got, tt.want)
		}
	}
}

func TestLongValuesAreScrubbedInsideWords(t *testing.T) {
	t.Parallel()
	got := scrubberOf("hunter22").Scrub("xhunter22y and hunter22")
	if got != "x[REDACTED]y and [REDACTED]" {
		t.Errorf("Scrub = %q", got)
	}
}

func TestScrubLeavesOtherTextAlone(t *testing.T) {
	t.Parallel()
	text := `secret "db/password" already exists \u0041 \q \ud800 trailing \`
	if got := scrubberOf("hunter22").Scrub(text); got != text {
		t.Errorf("Scrub changed unrelated text: %q", got)
	}
	if got := (togetherapi.Scrubber{togetherapi.Sensitive{}}).Scrub(text); got != text {
		t.Errorf("the zero Sensitive changed text: %q", got)
	}
	if (togetherapi.Scrubber{togetherapi.Sensitive{}}).Contained(text) {
		t.Error("the zero Sensitive claims to be contained in text")
	}
}

func TestScrubberScrubsEachValue(t *testing.T) {
	t.Parallel()
	s := scrubberOf("key-123", "value-456")
	if got := s.Scrub("key-123 and value-456"); got != "[REDACTED] and [REDACTED]" {
		t.Errorf("Scrub = %q", got)
	}
	// Overlapping values are replaced by their union, once.
	s = scrubberOf("abcdefgh", "efghijkl")
	if got := s.Scrub("<abcdefghijkl>"); got != "<[REDACTED]>" {
		t.Errorf("Scrub of overlapping values = %q", got)
	}
}

func TestAFieldIsWithheldByTheLengthRuleUnlessItsShapeCannotCarryAValue(t *testing.T) {
	t.Parallel()
	tests := []struct {
		value, key, field string
		want              bool
	}{
		{"e", "id", "sec-950e74", false},
		{"e", "id", "e", true},
		{"e", "id", `\u0065`, true},
		{"2026", "name", "2026-11-26T02:39:03Z", false},
		{"secret", "name", "secret", true},
		{"a1b2c3d4", "id", "sec-a1b2c3d4-99", true},
		{"a1b2c3d4", "id", `sec-a1b2c3\u00644-99`, true},
		{"a1b2c3d4", "id", "sec-a1b2c3-99", false},
		// Together's own fields, whatever a value holds.
		{"secret", "object", "secret", false},
		{"2026-11-26T02:39:03Z", "created_at", "2026-11-26T02:39:03Z", false},
		{"2026-11-26T02:39:03Z", "updated_at", "2026-11-26T02:39:03Z", false},
		// Not of that shape, they carry it like any other.
		{"not-a-time", "created_at", "not-a-time", true},
		{"secrets", "object", "secrets", true},
	}
	for _, tt := range tests {
		if got := scrubberOf(tt.value).Withholds(tt.key, tt.field); got != tt.want {
			t.Errorf("value %q: Withholds(%q, %q) = %v, want %v", tt.value, tt.key, tt.field, got, tt.want)
		}
	}
}

// spell writes s with each character in a spelling chosen at random from
// those some JSON encoder writes: as it is, \u escapes in either case
// (surrogate pairs above U+FFFF), and the short escapes.
func spell(r *rand.Rand, s string) string {
	var b strings.Builder
	for _, c := range s {
		var forms []string
		if c != '\\' && c != '"' && c >= 0x20 {
			forms = append(forms, string(c))
		}
		if c <= 0xFFFF {
			forms = append(forms, fmt.Sprintf(`\u%04x`, c), fmt.Sprintf(`\u%04X`, c))
		} else {
			hi, lo := utf16.EncodeRune(c)
			forms = append(forms, fmt.Sprintf(`\u%04x\u%04x`, hi, lo), fmt.Sprintf(`\u%04X\u%04X`, hi, lo))
		}
		switch c {
		case '"':
			forms = append(forms, `\"`)
		case '\\':
			forms = append(forms, `\\`)
		case '/':
			forms = append(forms, `\/`)
		case '\n':
			forms = append(forms, `\n`)
		case '\t':
			forms = append(forms, `\t`)
		}
		b.WriteString(forms[r.IntN(len(forms))])
	}
	return b.String()
}

func escapeAll(s string) string {
	var b strings.Builder
	for _, c := range s {
		if c > 0xFFFF {
			hi, lo := utf16.EncodeRune(c)
			fmt.Fprintf(&b, `\u%04x\u%04x`, hi, lo)
		} else {
			fmt.Fprintf(&b, `\u%04x`, c)
		}
	}
	return b.String()
}

// randomValue draws a value from a mix of alphabets: key-like ASCII, JSON
// specials, controls, accented letters and astral symbols.
func randomValue(r *rand.Rand, n int) string {
	alphabets := []string{
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
		`"\/<>&+=%#'`,
		"\t\n\x7f\x01",
		"äöüßéèñçøåÆ",
		"🔑😀𝄞",
	}
	var b strings.Builder
	for range n {
		a := []rune(alphabets[r.IntN(len(alphabets))])
		b.WriteRune(a[r.IntN(len(a))])
	}
	return b.String()
}

// The property: any value, spelled any way an encoder may write it, at any
// depth of JSON quoting, is gone after Scrub, and so is every fragment of
// the key, whatever value lies inside it.
func TestScrubPropertyNoSpellingSurvives(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 3000 {
		n := togetherapi.MinSubstringLen + r.IntN(24)
		value := randomValue(r, n)
		spelled := spell(r, value)
		text := "lowercase filler; " + spelled + " more filler"
		if r.IntN(3) == 0 {
			// Quoted once more, as JSON inside a JSON error body.
			q, _ := json.Marshal(text)
			text = `{"error":` + string(q) + `}`
		}
		s := scrubberOf(value)
		if !s.Contained(text) {
			t.Fatalf("case %d: Contained = false for value %q spelled %q", i, value, text)
		}
		got := s.Scrub(text)
		if s.Contained(got) {
			t.Fatalf("case %d: value %q survives Scrub(%q) = %q", i, value, text, got)
		}
		if !utf8.ValidString(got) {
			t.Fatalf("case %d: Scrub produced invalid UTF-8 from valid text: %q", i, got)
		}
	}
}

func TestScrubPropertyNoFragmentOfTheKeySurvives(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(3, 4))
	const keyAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"
	for i := range 3000 {
		var kb strings.Builder
		for range 20 + r.IntN(30) {
			kb.WriteByte(keyAlphabet[r.IntN(len(keyAlphabet))])
		}
		key := kb.String()
		// A value that is a piece of the key, of any length.
		lo := r.IntN(len(key))
		hi := lo + 1 + r.IntN(len(key)-lo)
		value := key[lo:hi]
		// Filler holds no character of the key's alphabet, so anything of
		// that alphabet left after Scrub is a piece of the key or value.
		text := `rejected: "authorization": "bearer ` + spell(r, key) + `", body {"value": "` + spell(r, value) + `"}`
		got := togetherapi.Scrubber{togetherapi.NewSensitive(value), togetherapi.NewSensitive(key)}.Scrub(text)
		rest := strings.ReplaceAll(got, togetherapi.Redacted, "")
		if strings.ContainsAny(rest, keyAlphabet) {
			t.Fatalf("case %d: key %q, value %q: Scrub(%q) = %q leaves part of them", i, key, value, text, got)
		}
	}
}
