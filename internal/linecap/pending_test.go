package linecap

import (
	"errors"
	"strings"
	"testing"
)

func TestPendingAdmitsRequestsWithinBothBoundsAndGivesBackOnAnswer(t *testing.T) {
	t.Parallel()
	p := NewPending(3, 250)
	req := func(id string, pad int) []byte {
		return []byte(`{"jsonrpc":"2.0","id":` + id + `,"method":"tools/call","params":{"x":"` + strings.Repeat("p", pad) + `"}}`)
	}
	steps := []struct {
		name   string
		admit  []byte
		answer string
		want   bool
	}{
		{name: "a small request", admit: req("1", 0), want: true},
		{name: "a request that would pass the byte bound", admit: req("2", 200), want: false},
		{name: "a notification, never tracked", admit: []byte(`{"jsonrpc":"2.0","method":"notifications/initialized"}`), want: true},
		{name: "a line that is not JSON, which the server answers with a null id", admit: []byte(`not json`), want: true},
		{name: "its answer", answer: `{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}`},
		{name: "a null id is a notification's", admit: []byte(`{"jsonrpc":"2.0","id":null,"method":"ping"}`), want: true},
		{name: "a second request", admit: req(`"a"`, 0), want: true},
		{name: "a third request", admit: req("3", 0), want: true},
		{name: "a fourth passes the count bound", admit: req("4", 0), want: false},
		{name: "a server request of the same id gives nothing back", answer: `{"jsonrpc":"2.0","id":1,"method":"elicitation/create","params":{}}`},
		{name: "still full", admit: req("5", 0), want: false},
		{name: "the answer to 1", answer: `{"jsonrpc":"2.0","id":1,"result":{}}`},
		{name: "room again", admit: req("6", 0), want: true},
		{name: "an answer to an id never admitted changes nothing", answer: `{"jsonrpc":"2.0","id":77,"error":{"code":-1,"message":"x"}}`},
		{name: "and so the bound holds", admit: req("7", 0), want: false},
	}
	for _, s := range steps {
		if s.answer != "" {
			p.Answered([]byte(s.answer))
			continue
		}
		if _, err := p.Admit(s.admit); (err == nil) != s.want {
			n, b := p.Load()
			t.Fatalf("%s: admitted %v (%v), want %v (pending %d, %d bytes)", s.name, err == nil, err, s.want, n, b)
		}
	}
	for _, id := range []string{`"a"`, "3", "6"} {
		p.Answered([]byte(`{"jsonrpc":"2.0","id":` + id + `,"result":{}}`))
	}
	if n, b := p.Load(); n != 0 || b != 0 {
		t.Errorf("after every answer: %d pending, %d bytes", n, b)
	}
}

func TestPendingCountsAReusedIDOncePerRequest(t *testing.T) {
	t.Parallel()
	p := NewPending(10, 1<<20)
	line := []byte(`{"jsonrpc":"2.0","id":"same","method":"tools/call"}`)
	for range 2 {
		if _, err := p.Admit(line); err != nil {
			t.Fatal(err)
		}
	}
	p.Answered([]byte(`{"jsonrpc":"2.0","id":"same","result":{}}`))
	if n, _ := p.Load(); n != 1 {
		t.Errorf("%d pending after one of two answers", n)
	}
}

func TestPendingNeverCountsWhatWaitsUnderAReusedIDAsLessThanItIs(t *testing.T) {
	t.Parallel()
	// Two requests share an id; the small one is answered first, but its
	// answer cannot say which it was. What still waits must be counted at
	// least as the large one.
	p := NewPending(10, 1<<20)
	large := []byte(`{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"x":"` + strings.Repeat("p", 5000) + `"}}`)
	small := []byte(`{"jsonrpc":"2.0","id":5,"method":"ping"}`)
	for _, line := range [][]byte{large, small} {
		if _, err := p.Admit(line); err != nil {
			t.Fatal(err)
		}
	}
	p.Answered([]byte(`{"jsonrpc":"2.0","id":5,"result":{}}`))
	if n, b := p.Load(); n != 1 || b < int64(len(large)) {
		t.Errorf("%d waiting, counted as %d bytes; the large request alone is %d", n, b, len(large))
	}
}

func TestARefusedLineIsNeverPassedOn(t *testing.T) {
	t.Parallel()
	in := strings.NewReader("keep 1\ndrop 2\nkeep 3\n")
	r := NewReader(in, 100, nil)
	r.Admit = func(line []byte) bool { return !strings.HasPrefix(string(line), "drop") }
	var out strings.Builder
	buf := make([]byte, 3)
	for {
		n, err := r.Read(buf)
		out.Write(buf[:n])
		if err != nil {
			break
		}
	}
	if out.String() != "keep 1\nkeep 3\n" {
		t.Errorf("passed on %q", out.String())
	}
}

func TestPendingReadsAnEnvelopeAsTheServerWould(t *testing.T) {
	t.Parallel()
	// A method spelled with an escape is a method to a JSON decoder: such a
	// request must count against the bounds like any other.
	for _, line := range []string{
		`{"jsonrpc":"2.0","id":1,"m\u0065thod":"tools/call","params":{}}`,
		`{"jsonrpc":"2.0","\u0069d":1,"method":"tools/call"}`,
		`{"jsonrpc":"2.0","id":"first","id":1,"method":"tools/call"}`,
		`{"jsonrpc":"2.0","ID":1,"method":"tools/call"}`,
		`{"jsonrpc":"2.0","id":1e0,"method":"tools/call"}`,
	} {
		p := NewPending(1, 1<<20)
		if _, err := p.Admit([]byte(line)); err != nil {
			t.Fatalf("%s: refused though nothing waits: %v", line, err)
		}
		if _, err := p.Admit([]byte(line)); err == nil {
			t.Errorf("%s: passed untracked", line)
		}
		// Its answer, as mcp-go writes it, gives the share back.
		p.Answered([]byte(`{"jsonrpc":"2.0","id":1,"result":{}}`))
		if n, _ := p.Load(); n != 0 {
			t.Errorf("%s: the answer to id 1 did not give its share back", line)
		}
	}
}

func TestPendingPassesTheAnswerToEachOfTheServersRequestsOnce(t *testing.T) {
	t.Parallel()
	p := NewPending(10, 1<<20)
	ask := func(id string) {
		p.Answered([]byte(`{"jsonrpc":"2.0","id":` + id + `,"method":"elicitation/create","params":{"mode":"url"}}` + "\n"))
	}
	declined := `{"jsonrpc":"2.0","id":1,"error":{"code":-1,"message":"declined"}}`
	steps := []struct {
		name, line string
		stray      bool
		answerWith string // the id a refusal is answered with; "" for none
	}{
		{name: "the client declines the server's request 1", line: declined},
		{name: "the same answer again", line: declined, stray: true, answerWith: "1"},
		{name: "an answer the server never asked for, with a result", line: `{"jsonrpc":"2.0","id":2,"result":{"action":"accept"}}`, stray: true},
		{name: "the same, with a method too, is a response", line: `{"jsonrpc":"2.0","id":2,"method":"tools/call","error":{"code":1,"message":"x"}}`, stray: true, answerWith: "2"},
		{name: "an answer whose id is a string of digits", line: `{"jsonrpc":"2.0","id":"1","result":{}}`, stray: true},
	}
	ask("1")
	for _, s := range steps {
		id, err := p.Admit([]byte(s.line))
		if errors.Is(err, ErrStrayResponse) != s.stray || string(id) != s.answerWith {
			t.Errorf("%s: id %s, %v; want stray %v, answered with %q", s.name, id, err, s.stray, s.answerWith)
		}
		if n, _ := p.Load(); n != 0 {
			t.Fatalf("%s: a share was taken for a response", s.name)
		}
	}
	// Once a request is cancelled, which of the server's requests still
	// wait no line says: an answer to one is no longer passed.
	ask("3")
	if _, err := p.Admit([]byte(`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":9}}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Admit([]byte(`{"jsonrpc":"2.0","id":3,"result":{}}`)); !errors.Is(err, ErrStrayResponse) {
		t.Errorf("after a cancellation, an answer to the server's request 3: %v", err)
	}
}

func TestOutgoingReadsTheIDAndMethodOfWhatTheServerWrites(t *testing.T) {
	t.Parallel()
	tests := []struct {
		msg, id string
		method  bool
	}{
		{`{"jsonrpc":"2.0","id":1,"result":{"id":2,"method":"x"}}` + "\n", "1", false},
		{`{"jsonrpc":"2.0","id":"a\"}b","error":{"code":-1,"message":"m"}}`, `"a\"}b"`, false},
		{`{"jsonrpc":"2.0","id":{"a":[1,{"b":"]"}]},"result":{}}`, `{"a":[1,{"b":"]"}]}`, false},
		{`{"jsonrpc":"2.0","id":-0,"result":{}}`, "-0", false},
		{`{"jsonrpc":"2.0","id":4,"method":"elicitation/create","params":{}}`, "4", true},
		{`{"jsonrpc":"2.0","method":"notifications/progress","params":{"id":3}}`, "", true},
		{`{"jsonrpc":"2.0","id":1,"result":{"unterminated`, "1", false},
		{`{"jsonrpc":"2.0","id":"unterminated`, "", false},
	}
	for _, tt := range tests {
		id, method := outgoing([]byte(tt.msg))
		if string(id) != tt.id || method != tt.method {
			t.Errorf("%s: id %s, method %v; want %s, %v", tt.msg, id, method, tt.id, tt.method)
		}
	}
}

func TestPendingKeepsFromTheServerWhatWouldWaitUnanswered(t *testing.T) {
	t.Parallel()
	tests := []struct {
		line string
		want error
	}{
		{`{"jsonrpc":"2.0","method":"tools/call","params":{"name":"x"}}`, ErrIdleCall},
		{`{"jsonrpc":"2.0","METHOD":"tools/call"}`, ErrIdleCall},
		{`{"jsonrpc":"2.0","id":"a","method":"tools/call","result":{}}`, ErrStrayResponse},
		{`{"jsonrpc":"2.0","id":"a","result":{}}`, ErrStrayResponse},
		{`{"jsonrpc":"2.0","method":"notifications/initialized"}`, nil},
		{`{"jsonrpc":"2.0","id":"a","method":"tools/call"}`, nil},
	}
	for _, tt := range tests {
		p := NewPending(10, 1<<20)
		if _, err := p.Admit([]byte(tt.line)); !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.line, err, tt.want)
		}
	}
}
