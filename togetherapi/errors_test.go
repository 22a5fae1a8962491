package togetherapi

import (
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestRetryAfterReadsEveryForm(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		headers map[string]string
		want    time.Duration
	}{
		{"none", nil, 0},
		{"milliseconds", map[string]string{"Retry-After-Ms": "250"}, 250 * time.Millisecond},
		{"milliseconds win over seconds", map[string]string{"Retry-After-Ms": "250", "Retry-After": "9"}, 250 * time.Millisecond},
		{"seconds", map[string]string{"Retry-After": "3"}, 3 * time.Second},
		{"http date", map[string]string{"Retry-After": now.Add(5 * time.Second).Format(http.TimeFormat)}, 5 * time.Second},
		{"date in the past", map[string]string{"Retry-After": now.Add(-5 * time.Second).Format(http.TimeFormat)}, 0},
		{"negative", map[string]string{"Retry-After": "-1"}, 0},
		{"garbage", map[string]string{"Retry-After": "soon", "Retry-After-Ms": "x"}, 0},
		// Once read as 18446744074 s * 1e9, which overflowed to 0.29 s.
		{"seconds that overflow a duration", map[string]string{"Retry-After": "18446744074"}, RetryAfterCap},
		{"seconds beyond uint64", map[string]string{"Retry-After": "99999999999999999999999"}, RetryAfterCap},
		{"absurd milliseconds", map[string]string{"Retry-After-Ms": "1e300"}, RetryAfterCap},
		{"infinite milliseconds", map[string]string{"Retry-After-Ms": "+Inf", "Retry-After": "2"}, 2 * time.Second},
		{"not-a-number milliseconds", map[string]string{"Retry-After-Ms": "NaN"}, 0},
		{"far date", map[string]string{"Retry-After": "Fri, 31 Dec 9999 23:59:59 GMT"}, RetryAfterCap},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range tt.headers {
				h.Set(k, v)
			}
			if got := retryAfter(h, now); got != tt.want {
				t.Errorf("retryAfter = %s, want %s", got, tt.want)
			}
		})
	}
}

// FuzzParseErrorBody checks that whatever an API answers, the message taken
// from it is bounded, valid UTF-8, single-line, and free of the value.
func FuzzParseErrorBody(f *testing.F) {
	for _, seed := range []struct{ ct, body, value string }{
		{"application/json", `{"error":{"message":"bad sk-live-1234","type":"t","code":42}}`, "sk-live-1234"},
		{"application/json", `{"message":"m"}`, "secret-value"},
		{"application/json", `{"error":"e \"sk-live-1234\""}`, "sk-live-1234"},
		{"text/html", "<html>x</html>", "xxxx"},
		{"text/plain", "line one\nline two \u00e9 \xff", "line two"},
		{"", "", "abcd"},
	} {
		f.Add(seed.ct, []byte(seed.body), seed.value)
	}
	f.Fuzz(func(t *testing.T, contentType string, body []byte, value string) {
		// Values arrive as decoded JSON strings, so they are valid UTF-8.
		value = strings.ToValidUTF8(value, "")
		scrub := Scrubber{NewSensitive(value)}
		msg, typ, code := parseErrorBody(contentType, body, scrub)
		for _, s := range []string{msg, typ, code} {
			if len(s) > maxMessageLen+len("…") {
				t.Fatalf("text is %d bytes", len(s))
			}
			if !utf8.ValidString(s) || strings.ContainsAny(s, "\n\r\t") {
				t.Fatalf("text is not clean: %q", s)
			}
			// The rule: a value of minSubstringLen characters or more may
			// stand nowhere, a shorter one nowhere as a token.
			long := utf8.RuneCountInString(value) >= minSubstringLen
			if long && !strings.Contains(Redacted, value) && strings.Contains(s, value) {
				t.Fatalf("text %q holds the value %q", s, value)
			}
			if !strings.Contains(Redacted, value) && scrub.Contained(s) {
				t.Fatalf("text %q holds the value %q by the scrubbing rule", s, value)
			}
		}
	})
}

// fragments lists every piece of s of at least 6 bytes that text holds.
func fragments(text, s string) []string {
	var found []string
	for l := 6; l <= len(s); l++ {
		for i := 0; i+l <= len(s); i++ {
			if strings.Contains(text, s[i:i+l]) {
				found = append(found, s[i:i+l])
			}
		}
	}
	return found
}

func TestAnErrorMessageCutAtItsBoundNeverShowsPartOfTheKey(t *testing.T) {
	t.Parallel()
	const key = "tgp_ACROSS_THE_CUT_0123456789abcdef"
	scrub := Scrubber{NewSensitive(key)}
	for at := maxMessageLen - len(key); at <= maxMessageLen+2; at++ {
		for _, body := range []string{
			strings.Repeat("x", at) + key + " and more",
			`{"error":{"message":"` + strings.Repeat("y", at) + key + `"}}`,
			strings.Repeat(" ", at) + key, // tidying folds the blanks, the cut comes after
		} {
			msg, _, _ := parseErrorBody("application/json", []byte(body), scrub)
			if f := fragments(msg, key); len(f) > 0 {
				t.Fatalf("key at %d: the message shows %q", at, f[len(f)-1])
			}
			if len(msg) > maxMessageLen+len("…") {
				t.Errorf("key at %d: the message is %d bytes", at, len(msg))
			}
		}
	}
}

func TestBoundedScrubsBeforeItCuts(t *testing.T) {
	t.Parallel()
	const key = "tgp_BOUNDED_KEY_abcdef0123"
	scrub := Scrubber{NewSensitive(key)}
	for n := 1; n < 80; n++ {
		for at := 0; at < 60; at++ {
			got := scrub.Bounded(strings.Repeat("z", at)+key+strings.Repeat("z", 10), n)
			if f := fragments(got, key); len(f) > 0 {
				t.Fatalf("bound %d, key at %d: %q shows %q", n, at, got, f[0])
			}
		}
	}
}
