package tools_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// These tests hold the tools to the scrubbing rule of togetherapi.Scrubber
// where an earlier version broke it.

func TestTheKeyCannotBeRebuiltFromAnErrorWhenTheValueIsInsideIt(t *testing.T) {
	t.Parallel()
	// The value "E" occurs in the key; an error body quotes the request's
	// Authorization header. Scrubbing the value first once left the key in
	// pieces whose gaps the caller could fill in.
	h := newHarness(t, nil)
	h.setFault(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(400)
		fmt.Fprintf(w, `{"message":"rejected %s with value %s"}`, r.Header.Get("Authorization"), "E")
	})
	res := h.call(t, "create_secret", map[string]any{"name": "A", "value": "E"})
	text := resultText(t, res)
	// The call's duration is the one field of the log not drawn from the
	// call's texts; its digits may match three of the key's by chance.
	logs := regexp.MustCompile(`"duration_ms":[0-9.e-]+`).ReplaceAllString(h.logs.String(), `"duration_ms":0`)
	for n := 3; n <= len(canaryKey); n++ {
		for i := 0; i+n <= len(canaryKey); i++ {
			if frag := canaryKey[i : i+n]; strings.Contains(text, frag) || strings.Contains(logs, frag) {
				t.Fatalf("output keeps %q of the key:\n%s\n%s", frag, text, logs)
			}
		}
	}
	if !strings.Contains(text, "rejected Bearer [REDACTED] with value [REDACTED]") {
		t.Errorf("error = %s", text)
	}
}

func TestErrorsQuotingTheValueInOtherEncodersSpellingsAreScrubbed(t *testing.T) {
	t.Parallel()
	const value = "p@ss+w=rd/ä-\x7f-key"
	for _, spelled := range []string{
		`p@ss\u002Bw\u003drd\/\u00e4-\u007f-key`,
		`p\u0040ss+w=rd/\u00E4-\u007F-key`,
		`p@ss\\u002bw=rd\\/\\u00e4-\\u007f-key`, // JSON inside JSON
	} {
		t.Run(spelled, func(t *testing.T) {
			h := newHarness(t, nil)
			h.setFault(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(422)
				fmt.Fprintf(w, `{"error":{"message":"bad value \"%s\""}}`, spelled)
			})
			res := h.call(t, "create_secret", map[string]any{"name": "A", "value": value})
			text := resultText(t, res)
			if strings.Contains(text, "p@") || strings.Contains(text, "rd") || strings.Contains(text, "-key") || !strings.Contains(text, `bad value "[REDACTED]"`) {
				t.Errorf("error = %s", text)
			}
		})
	}
}

func TestEveryLogFieldIsScrubbedOrShaped(t *testing.T) {
	t.Parallel()
	// A request id that carries the key, and a secret name (the id the
	// caller gave) that carries it too.
	h := newHarness(t, nil, withRetries(1))
	h.setFault(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("X-Request-Id", canaryKey)
		w.Header().Set("Retry-After-Ms", "1")
		w.WriteHeader(503)
	})
	res := h.call(t, "get_secret", map[string]any{"id": "x-" + canaryKey})
	if !res.IsError {
		t.Fatalf("result = %s", encoded(t, res))
	}
	logs := h.logs.String()
	if !strings.Contains(logs, `"message":"retrying"`) || !strings.Contains(logs, `"secret":"x-[REDACTED]"`) {
		t.Errorf("log = %s", logs)
	}
	assertNoLeak(t, map[string]string{"logs": logs, "result": encoded(t, res)})
}

func TestAFailedLookupNeverSaysTheChangeMayHaveTakenEffect(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	create := h.call(t, "create_secret", map[string]any{"name": "A", "value": canaryValue})
	if create.IsError {
		t.Fatal(resultText(t, create))
	}
	h.setFault(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) })
	for _, tt := range []struct {
		tool string
		args map[string]any
		want string
	}{
		{"update_secret", map[string]any{"id": "A", "description": "d"}, "the change was not sent, so nothing changed"},
		{"delete_secret", map[string]any{"id": "A"}, "the change was not sent, so nothing changed"},
		{"list_secrets", nil, "This is a fault on Together's side: retry in a moment."},
		{"get_secret", map[string]any{"id": "team/A"}, "This is a fault on Together's side: retry in a moment."},
	} {
		res := h.call(t, tt.tool, tt.args)
		text := resultText(t, res)
		if !strings.Contains(text, tt.want) || strings.Contains(text, "may or may not") || strings.Contains(text, "took effect") {
			t.Errorf("%s: %s", tt.tool, text)
		}
	}
}

func TestAnAbsurdRetryAfterIsReportedAsTooLongToWait(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, withRetries(2))
	h.setFault(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Retry-After", "18446744074")
		w.WriteHeader(429)
	})
	res := h.call(t, "create_secret", map[string]any{"name": "A", "value": canaryValue})
	if text := resultText(t, res); !strings.Contains(text, "asked to wait a day or more") {
		t.Errorf("error = %s", text)
	}
	if n := h.srv.Count(); n != 1 {
		t.Errorf("%d requests, want 1: an absurd wait is not retried", n)
	}
}

func TestArgumentsOfEveryToolAreBounded(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	long := strings.Repeat("i", 257)
	for _, tt := range []struct {
		tool string
		args map[string]any
		want string
	}{
		{"get_secret", map[string]any{"id": long}, "id must be at most 256 characters (it has 257)"},
		{"update_secret", map[string]any{"id": long, "description": "d"}, "id must be at most 256 characters"},
		{"update_secret", map[string]any{"id": "A", "value": strings.Repeat("v", 65537)}, "value must be at most 65536 bytes"},
		{"update_secret", map[string]any{"id": "A", "project_id": long, "description": "d"}, "project_id must be at most 256 characters"},
		{"delete_secret", map[string]any{"id": long}, "id must be at most 256 characters"},
		{"list_secrets", map[string]any{"name_prefix": strings.Repeat("p", 101)}, "name_prefix must be at most 100 characters"},
		// {"id":"…"} is 9 bytes and the id: at the cap of 458752 the
		// arguments are read, and a byte over they are not.
		{"get_secret", map[string]any{"id": strings.Repeat("i", 458752-9)}, "id must be at most 256 characters (it has 458743)"},
		{"get_secret", map[string]any{"id": strings.Repeat("i", 458752-9+1)}, "arguments are 458753 bytes, more than the 458752 accepted"},
	} {
		res := h.call(t, tt.tool, tt.args)
		text := resultText(t, res)
		if !res.IsError || !strings.Contains(text, tt.want) || !strings.Contains(text, "Nothing was sent") {
			t.Errorf("%s: %.300s", tt.tool, text)
		}
		if len(text) > 1000 {
			t.Errorf("%s: the error is %d bytes; it must not echo the argument", tt.tool, len(text))
		}
	}
	if n := h.srv.Count(); n != 0 {
		t.Errorf("%d requests sent", n)
	}
	if logs := h.logs.String(); len(logs) > 20000 {
		t.Errorf("the logs grew to %d bytes", len(logs))
	}
}

func TestAnArgumentNameHoldingTheValueAcrossTheQuotingBoundIsNeverCut(t *testing.T) {
	t.Parallel()
	const value = "CANARYVALUE-across-the-cut-0123"
	h := newHarness(t, nil)
	for at := 0; at <= 45; at++ {
		name := strings.Repeat("k", at) + value
		res := h.call(t, "create_secret", map[string]any{"name": "A", "value": value, name: 1})
		text := resultText(t, res)
		if !res.IsError || !strings.Contains(text, "unknown argument") {
			t.Fatalf("at %d: %s", at, text)
		}
		for l := 6; l <= len(value); l++ {
			for i := 0; i+l <= len(value); i++ {
				if strings.Contains(text, value[i:i+l]) {
					t.Fatalf("at %d: %q of the value shows: %s", at, value[i:i+l], text)
				}
			}
		}
	}
	if h.api.Len() != 0 {
		t.Error("a call with an unknown argument was sent")
	}
}

func TestTheLogCountsRequestsAndTriesApart(t *testing.T) {
	t.Parallel()
	// An update by name is a lookup and a PATCH: two requests of one try each.
	h := newHarness(t, nil)
	if r := h.call(t, "create_secret", map[string]any{"name": "COUNTED", "value": "CANARYVALUE-counted"}); r.IsError {
		t.Fatal(resultText(t, r))
	}
	if r := h.call(t, "update_secret", map[string]any{"id": "COUNTED", "description": "d"}); r.IsError {
		t.Fatal(resultText(t, r))
	}
	var last map[string]any
	for _, line := range strings.Split(strings.TrimSpace(h.logs.String()), "\n") {
		var ev map[string]any
		if json.Unmarshal([]byte(line), &ev) == nil && ev["tool"] == "update_secret" {
			last = ev
		}
	}
	if last["requests"] != 2.0 || last["attempts"] != 1.0 {
		t.Errorf("update_secret logged requests %v, attempts %v; want 2 and 1", last["requests"], last["attempts"])
	}
}
