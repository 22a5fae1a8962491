package tools

import (
	"encoding/json"
	"testing"
)

func TestExactTextRefusesEverySpellingJSONWouldAlter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		raw  string
		want bool
	}{
		{`"plain"`, true},
		{`"caf\u00e9 and é"`, true},
		{`"\ud83d\ude00 emoji by escapes"`, true},
		{`"\uD83D\uDE00 in upper case"`, true},
		{`"\\ud800 is an escaped backslash, not an escape"`, true},
		{`"\"\\\/\b\f\n\r\t"`, true},
		{`"a literal U+FFFD \ufffd or �"`, true},
		{"\"p\xe4ssw\xf6rd-123\"", false},
		{"\"\xff\"", false},
		{`"\ud800 alone"`, false},
		{`"\udc00 alone"`, false},
		{`"\ud83d\u0041 high then not low"`, false},
		{`"\ud83d"`, false},
		{`"\ud83d\ud83d two highs"`, false},
	}
	for _, tt := range tests {
		if got := exactText(json.RawMessage(tt.raw)); got != tt.want {
			t.Errorf("exactText(%q) = %v, want %v", tt.raw, got, tt.want)
		}
	}
}
