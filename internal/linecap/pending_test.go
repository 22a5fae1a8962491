package linecap

import (
	"strings"
	"testing"
)

func TestPendingAdmitsRequestsWithinBothBoundsAndGivesBackOnAnswer(t *testing.T) {
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
		{name: "a response to the server, never tracked", admit: []byte(`{"jsonrpc":"2.0","id":9,"result":{}}`), want: true},
		{name: "a line that is not JSON, left to the server", admit: []byte(`not json`), want: true},
		{name: "a null id is a notification's", admit: []byte(`{"jsonrpc":"2.0","id":null,"method":"ping"}`), want: true},
		{name: "a second request", admit: req(`"a"`, 0), want: true},
		{name: "a third request", admit: req("3", 0), want: true},
		{name: "a fourth passes the count bound", admit: req("4", 0), want: false},
		{name: "a server request of the same id gives nothing back", answer: `{"jsonrpc":"2.0","id":1,"method":"elicitation/create","params":{}}`},
		{name: "still full", admit: req("5", 0), want: false},
		{name: "the answer to 1, spelled 1.0", answer: `{"jsonrpc":"2.0","id":1.0,"result":{}}`},
		{name: "room again", admit: req("6", 0), want: true},
		{name: "an answer to an id never admitted changes nothing", answer: `{"jsonrpc":"2.0","id":77,"error":{"code":-1,"message":"x"}}`},
		{name: "and so the bound holds", admit: req("7", 0), want: false},
	}
	for _, s := range steps {
		if s.answer != "" {
			p.Answered([]byte(s.answer))
			continue
		}
		if ok, _, _, _ := p.Admit(s.admit); ok != s.want {
			n, b := p.Load()
			t.Fatalf("%s: admitted %v, want %v (pending %d, %d bytes)", s.name, ok, s.want, n, b)
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
	p := NewPending(10, 1<<20)
	line := []byte(`{"jsonrpc":"2.0","id":"same","method":"tools/call"}`)
	for range 2 {
		if ok, _, _, _ := p.Admit(line); !ok {
			t.Fatal("refused")
		}
	}
	p.Answered([]byte(`{"jsonrpc":"2.0","id":"same","result":{}}`))
	if n, _ := p.Load(); n != 1 {
		t.Errorf("%d pending after one of two answers", n)
	}
}

func TestARefusedLineIsNeverPassedOn(t *testing.T) {
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
	// A method spelled with an escape is a method to a JSON decoder: such a
	// request must count against the bounds like any other.
	for _, line := range []string{
		`{"jsonrpc":"2.0","id":1,"m\u0065thod":"tools/call","params":{}}`,
		`{"jsonrpc":"2.0","\u0069d":1,"method":"tools/call"}`,
		`{"jsonrpc":"2.0","id":"first","id":1,"method":"tools/call"}`,
	} {
		p := NewPending(1, 1<<20)
		if ok, _, _, _ := p.Admit([]byte(line)); !ok {
			t.Fatalf("%s: refused though nothing waits", line)
		}
		if ok, _, _, _ := p.Admit([]byte(line)); ok {
			t.Errorf("%s: passed untracked", line)
		}
		// Its answer, as mcp-go writes it, gives the share back.
		p.Answered([]byte(`{"jsonrpc":"2.0","id":1,"result":{}}`))
		if n, _ := p.Load(); n != 0 {
			t.Errorf("%s: the answer to id 1 did not give its share back", line)
		}
	}
}
