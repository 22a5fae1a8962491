package linecap_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log"
	"strings"
	"sync"
	"testing"

	"github.com/mark3labs/mcp-go/server"

	"github.com/together-secrets-mcp/together-secrets-mcp/internal/linecap"
)

// serveLine runs mcp-go's own stdio server on one line behind a Reader and
// a Pending, as serve_stdio.go wires them, until the server has read the
// line and a ping after it, answered both, and stopped. It returns whether
// the line took a share, and the ids of the server's answers to it.
func serveLine(t *testing.T, line string) (took bool, answered []string, p *linecap.Pending) {
	t.Helper()
	p = linecap.NewPending(10, 1<<20)
	const sentinel = `"sentinel"`
	in, feed := io.Pipe()
	r := linecap.NewReader(in, 1<<20, nil)
	first := true
	r.Admit = func(l []byte) bool {
		_, err := p.Admit(l)
		if first {
			n, _ := p.Load()
			took, first = n > 0, false
		}
		return err == nil
	}
	var mu sync.Mutex
	done := make(chan struct{})
	out := writer(func(b []byte) (int, error) {
		p.Answered(b)
		var m struct{ ID json.RawMessage }
		if err := json.Unmarshal(b, &m); err != nil {
			t.Errorf("the server wrote %q", b)
		}
		mu.Lock()
		defer mu.Unlock()
		switch id := string(m.ID); id {
		case sentinel:
			close(done)
		case "":
			t.Errorf("the server wrote a message without an id: %s", b)
		default:
			answered = append(answered, id)
		}
		return len(b), nil
	})
	stdio := server.NewStdioServer(server.NewMCPServer("linecap-test", "1"))
	stdio.SetErrorLogger(log.New(io.Discard, "", 0))
	listened := make(chan error, 1)
	go func() { listened <- stdio.Listen(context.Background(), r, out) }()
	go func() {
		// A ping after the line: once it is answered, the server has read
		// and taken the line.
		_, _ = io.WriteString(feed, line+"\n"+`{"jsonrpc":"2.0","id":`+sentinel+`,"method":"ping"}`+"\n")
		<-done
		feed.Close()
	}()
	if err := <-listened; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	return took, answered, p
}

type writer func([]byte) (int, error)

func (w writer) Write(b []byte) (int, error) { return w(b) }

func TestPendingTakesAShareForExactlyTheLinesTheServerAnswers(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 300)
	tests := []struct {
		name, line string
		answered   string // the id the server answers with, as written; "" for none (or the line kept from it)
	}{
		{"a request", `{"jsonrpc":"2.0","id":1,"method":"ping"}`, "1"},
		{"an unknown method", `{"jsonrpc":"2.0","id":1,"method":"nope"}`, "1"},
		{"a result member", `{"jsonrpc":"2.0","id":1,"method":"ping","result":{}}`, ""},
		{"a result member on a tool call", `{"jsonrpc":"2.0","id":1,"method":"tools/call","result":0}`, ""},
		{"a null result, which makes it a response to the stdio server", `{"jsonrpc":"2.0","id":1,"method":"ping","result":null}`, ""},
		{"a result no float64 holds, kept from the server as a response", `{"jsonrpc":"2.0","id":1,"method":"ping","result":[1e999]}`, ""},
		{"a result no float64 holds, under a string id", `{"jsonrpc":"2.0","id":"a","method":"ping","result":[1e999]}`, "null"},
		{"a number as jsonrpc", `{"jsonrpc":2,"id":1,"method":"ping"}`, "null"},
		{"a number as method", `{"jsonrpc":"2.0","id":1,"method":5}`, "null"},
		{"an object as method", `{"jsonrpc":"2.0","id":1,"method":{}}`, "null"},
		{"another version", `{"jsonrpc":"1.0","id":1,"method":"ping"}`, "1"},
		{"no version", `{"id":1,"method":"ping"}`, "1"},
		{"the id keyed ID", `{"jsonrpc":"2.0","ID":7,"method":"ping"}`, "7"},
		{"the id keyed Id, then id", `{"jsonrpc":"2.0","Id":7,"id":8,"method":"ping"}`, "8"},
		{"the method keyed METHOD", `{"jsonrpc":"2.0","id":1,"METHOD":"ping"}`, "1"},
		{"the id spelled with an escape", `{"jsonrpc":"2.0","\u0069d":3,"method":"ping"}`, "3"},
		{"a repeated id", `{"jsonrpc":"2.0","id":"first","id":2,"method":"ping"}`, "2"},
		{"a repeated id, the last null", `{"jsonrpc":"2.0","id":2,"id":null,"method":"ping"}`, ""},
		{"1.0", `{"jsonrpc":"2.0","id":1.0,"method":"ping"}`, "1"},
		{"1e0", `{"jsonrpc":"2.0","id":1e0,"method":"ping"}`, "1"},
		{"-0", `{"jsonrpc":"2.0","id":-0,"method":"ping"}`, "-0"},
		{"a fraction", `{"jsonrpc":"2.0","id":0.5,"method":"ping"}`, "0.5"},
		{"a number past 2^53", `{"jsonrpc":"2.0","id":12345678901234567891,"method":"ping"}`, "12345678901234567000"},
		{"a number past float64", `{"jsonrpc":"2.0","id":1e400,"method":"ping"}`, "null"},
		{"a string of digits", `{"jsonrpc":"2.0","id":"1","method":"ping"}`, `"1"`},
		{"a string with an escape", `{"jsonrpc":"2.0","id":"\u0031","method":"ping"}`, `"1"`},
		{"a string of 300 bytes", `{"jsonrpc":"2.0","id":"` + long + `","method":"ping"}`, `"` + long + `"`},
		{"a string that is not UTF-8", "{\"jsonrpc\":\"2.0\",\"id\":\"a\xffb\",\"method\":\"ping\"}", "\"a\ufffdb\""},
		{"a string with HTML", `{"jsonrpc":"2.0","id":"<&>","method":"ping"}`, `"\u003c\u0026\u003e"`},
		{"an object", `{"jsonrpc":"2.0","id":{"b":1,"a":[2]},"method":"ping"}`, `{"a":[2],"b":1}`},
		{"an array", `{"jsonrpc":"2.0","id":[1],"method":"ping"}`, `[1]`},
		{"true", `{"jsonrpc":"2.0","id":true,"method":"ping"}`, "true"},
		{"a null id", `{"jsonrpc":"2.0","id":null,"method":"ping"}`, ""},
		{"a notification", `{"jsonrpc":"2.0","method":"notifications/initialized"}`, ""},
		{"a batch", `[{"jsonrpc":"2.0","id":1,"method":"ping"}]`, "null"},
		{"not JSON", `{"jsonrpc":"2.0","id":5,"method":"ping"`, "null"},
		{"two messages on one line", `{"jsonrpc":"2.0","id":5,"method":"ping"} {}`, "null"},
		{"null", `null`, "null"},
		{"an empty object", `{}`, "null"},
		{"a notification of another version", `{"jsonrpc":"1.0","method":"notifications/initialized"}`, "null"},
		{"a notification whose params are no object", `{"jsonrpc":"2.0","method":"notifications/initialized","params":5}`, "null"},
		{"a tool call without an id", `{"jsonrpc":"2.0","method":"tools/call","params":{}}`, ""},
		{"a response with a string id", `{"jsonrpc":"2.0","id":"a","result":{}}`, ""},
		{"a response to no request of the server's", `{"jsonrpc":"2.0","id":1,"result":{}}`, ""},
		{"an error response to none", `{"jsonrpc":"2.0","id":1,"error":{"code":1,"message":"x"}}`, ""},
		{"a request that carries an error", `{"jsonrpc":"2.0","id":1,"method":"ping","error":{"code":1,"message":"x"}}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			took, answered, p := serveLine(t, tt.line)
			want := []string(nil)
			if tt.answered != "" {
				want = []string{tt.answered}
			}
			if strings.Join(answered, " ") != strings.Join(want, " ") {
				t.Errorf("the server answered with ids %q, want %q", answered, want)
			}
			if took != (len(answered) > 0) {
				t.Errorf("a share taken: %v; answered with ids %q", took, answered)
			}
			if n, b := p.Load(); n != 0 || b != 0 {
				t.Errorf("after the server stopped, %d requests (%d bytes) still wait", n, b)
			}
		})
	}
}

func TestOutgoingMessagesAreReadAsTheServerWritesThem(t *testing.T) {
	t.Parallel()
	// What mcp-go writes, read back: its answers give back shares.
	_, answered, _ := serveLine(t, `{"jsonrpc":"2.0","id":{"k":"a\"b,c}"},"method":"ping"}`)
	if len(answered) != 1 || !bytes.Equal([]byte(answered[0]), []byte(`{"k":"a\"b,c}"}`)) {
		t.Errorf("answered %q", answered)
	}
}
