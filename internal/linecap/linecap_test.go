package linecap_test

import (
	"encoding/json"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/together-secrets-mcp/together-secrets-mcp/internal/linecap"
)

type drop struct {
	id   string
	size int64
}

func read(t *testing.T, in string, max int) (string, []drop) {
	t.Helper()
	var drops []drop
	r := linecap.NewReader(iotest.OneByteReader(strings.NewReader(in)), max, func(id json.RawMessage, size int64) {
		drops = append(drops, drop{string(id), size})
	})
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(out), drops
}

func TestLinesWithinTheCapPassWhole(t *testing.T) {
	t.Parallel()
	in := "{\"a\":1}\n\n{\"b\":\"" + strings.Repeat("x", 90) + "\"}\nlast line without newline"
	out, drops := read(t, in, 100)
	if out != in || len(drops) != 0 {
		t.Errorf("out = %q, drops %v", out, drops)
	}
}

func TestALongLineIsDroppedAndItsIDReported(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("v", 5000)
	tests := []struct {
		name, line, id string
	}{
		{"id first", `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"arguments":{"value":"` + big + `"}}}`, "7"},
		{"id last, as the TypeScript SDK writes it", `{"method":"tools/call","params":{"arguments":{"id":99,"value":"` + big + `"}},"jsonrpc":"2.0","id":"req-8"}`, `"req-8"`},
		{"an id with escapes", `{"id":"a\"b","params":{"value":"` + big + `"}}`, `"a\"b"`},
		{"no id", `{"method":"notifications/x","params":{"value":"` + big + `"}}`, "null"},
		{"not JSON", big, "null"},
		{"an object as id", `{"id":{"x":1},"params":"` + big + `"}`, "null"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := "{\"before\":1}\n" + tt.line + "\n{\"after\":2}\n"
			out, drops := read(t, in, 1000)
			if out != "{\"before\":1}\n{\"after\":2}\n" {
				t.Errorf("out = %.200q", out)
			}
			if len(drops) != 1 || drops[0].id != tt.id || drops[0].size != int64(len(tt.line)+1) {
				t.Errorf("drops = %v, want id %s", drops, tt.id)
			}
		})
	}
}

func TestALineExactlyAtTheCapPasses(t *testing.T) {
	t.Parallel()
	line := strings.Repeat("x", 99) + "\n"
	if out, drops := read(t, line+line, 100); out != line+line || len(drops) != 0 {
		t.Errorf("out %d bytes, drops %v", len(out), drops)
	}
	if _, drops := read(t, strings.Repeat("x", 100)+"\n", 100); len(drops) != 1 {
		t.Errorf("a line one over the cap passed")
	}
}

func TestAnUnendedLongLineAtTheEndIsDropped(t *testing.T) {
	t.Parallel()
	out, drops := read(t, "{\"a\":1}\n{\"id\":3,\"p\":\""+strings.Repeat("v", 500), 100)
	if out != "{\"a\":1}\n" || len(drops) != 1 || drops[0].id != "3" {
		t.Errorf("out %q, drops %v", out, drops)
	}
}
