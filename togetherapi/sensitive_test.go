package togetherapi_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/together-secrets-mcp/together-secrets-mcp/togetherapi"
)

const canary = "CANARY-s3cr3t-<&>-\"quoted\"-/path-é-🔑"

func TestSensitivePrintsRedactedThroughEveryFormatter(t *testing.T) {
	v := togetherapi.NewSensitive(canary)
	holder := struct {
		Name  string
		Value togetherapi.Sensitive
		Ptr   *togetherapi.Sensitive
	}{"n", v, &v}

	var outputs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10.3s", "%T"} {
		outputs = append(outputs, fmt.Sprintf(verb, v), fmt.Sprintf(verb, holder))
	}
	outputs = append(outputs, fmt.Sprint(v), fmt.Sprintln(v, &v), v.String(), v.GoString())
	outputs = append(outputs, fmt.Errorf("wrapped %v: %w", v, errors.New("x")).Error())

	j, err := json.Marshal(holder)
	if err != nil {
		t.Fatal(err)
	}
	outputs = append(outputs, string(j))
	text, _ := v.MarshalText()
	outputs = append(outputs, string(text))

	var slogBuf bytes.Buffer
	slog.New(slog.NewJSONHandler(&slogBuf, nil)).Info("m", "value", v, "holder", holder)
	outputs = append(outputs, slogBuf.String())

	var zBuf bytes.Buffer
	z := zerolog.New(&zBuf)
	z.Info().Interface("a", v).Any("b", holder).Stringer("c", v).
		Fields(map[string]any{"d": v, "e": &v}).Msgf("%v %+v %s", v, holder, &v)
	z.Info().Msg(fmt.Sprint(v))
	outputs = append(outputs, zBuf.String())

	for _, out := range outputs {
		if strings.Contains(out, "CANARY") || strings.Contains(out, "s3cr3t") {
			t.Errorf("value leaked: %s", out)
		}
		if !strings.Contains(out, togetherapi.Redacted) && !strings.Contains(out, "togetherapi.Sensitive") {
			t.Errorf("output %q does not say %s", out, togetherapi.Redacted)
		}
	}
}

func TestSensitivePanicValuePrintsRedacted(t *testing.T) {
	defer func() {
		r := recover()
		if got := fmt.Sprint(r); strings.Contains(got, "CANARY") {
			t.Errorf("panic value printed the secret: %s", got)
		}
	}()
	panic(togetherapi.NewSensitive(canary))
}

func TestScrubRemovesEveryEncodingOfTheValue(t *testing.T) {
	v := togetherapi.NewSensitive(canary)
	goJSON, _ := json.Marshal(canary)
	var noHTML bytes.Buffer
	enc := json.NewEncoder(&noHTML)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(canary)
	tests := []struct {
		name, text string
	}{
		{"raw", "error: " + canary + " is bad"},
		{"go json", `{"value":` + string(goJSON) + `}`},
		{"json without html escaping", `{"value":` + noHTML.String() + `}`},
		{"escaped slashes", `{"value":"CANARY-s3cr3t-<&>-\"quoted\"-\/path-é-🔑"}`},
		{"python ascii escapes", `{"value": "CANARY-s3cr3t-<&>-\"quoted\"-/path-\u00e9-\ud83d\udd11"}`},
		{"twice", canary + canary},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !v.Contained(tt.text) {
				t.Errorf("Contained(%q) = false", tt.text)
			}
			got := v.Scrub(tt.text)
			if strings.Contains(got, "CANARY") {
				t.Errorf("Scrub(%q) = %q, still holds the value", tt.text, got)
			}
			if !strings.Contains(got, togetherapi.Redacted) {
				t.Errorf("Scrub(%q) = %q, no %s marker", tt.text, got, togetherapi.Redacted)
			}
		})
	}
}

func TestScrubLeavesOtherTextAlone(t *testing.T) {
	text := "secret \"db/password\" already exists"
	if got := togetherapi.NewSensitive("hunter2").Scrub(text); got != text {
		t.Errorf("Scrub changed unrelated text: %q", got)
	}
	if got := (togetherapi.Sensitive{}).Scrub(text); got != text {
		t.Errorf("the zero Sensitive changed text: %q", got)
	}
	if (togetherapi.Sensitive{}).Contained(text) {
		t.Error("the zero Sensitive claims to be contained in text")
	}
}

func TestScrubberScrubsEachValue(t *testing.T) {
	s := togetherapi.Scrubber{togetherapi.NewSensitive("key-123"), togetherapi.NewSensitive("value-456")}
	got := s.Scrub("key-123 and value-456")
	if got != "[REDACTED] and [REDACTED]" {
		t.Errorf("Scrub = %q", got)
	}
}
