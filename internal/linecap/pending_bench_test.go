package linecap

import (
	"strings"
	"testing"
)

func BenchmarkPendingAdmitAndAnswer(b *testing.B) {
	p := NewPending(10000, 16<<20)
	req := []byte(`{"jsonrpc":"2.0","id":12345,"method":"tools/call","params":{"name":"create_secret","arguments":{"name":"S1","value":"value-0123456789abcdef"}}}` + "\n")
	resp := []byte(`{"jsonrpc":"2.0","id":12345,"result":{"content":[{"type":"text","text":"{\"object\":\"secret\",\"id\":\"sec-b6cb08bec82ac070c8fcba22\",\"name\":\"demo/EXAMPLE_TOKEN\",\"description\":\"created by together-secrets-mcp demo\",\"created_at\":\"2026-12-02T06:24:47Z\",\"updated_at\":\"2026-12-02T06:24:47Z\",\"created_by\":\"sandbox\",\"last_updated_by\":\"sandbox\"}"}],"structuredContent":{"object":"secret","id":"sec-b6cb08bec82ac070c8fcba22","name":"demo/EXAMPLE_TOKEN","description":"created by together-secrets-mcp demo","created_at":"2026-12-02T06:24:47Z","updated_at":"2026-12-02T06:24:47Z","created_by":"sandbox","last_updated_by":"sandbox"}}}` + "\n")
	b.ReportAllocs()
	for b.Loop() {
		p.Admit(req)
		p.Answered(resp)
	}
}

// BenchmarkPendingAdmitTheLargestCall measures a call at the largest a
// value may be, whose line every check reads whole.
func BenchmarkPendingAdmitTheLargestCall(b *testing.B) {
	p := NewPending(10000, 16<<20)
	req := []byte(`{"jsonrpc":"2.0","id":12345,"method":"tools/call","params":{"name":"create_secret","arguments":{"name":"S1","value":"` + strings.Repeat("v0123456789/+=", 32<<10) + `"}}}` + "\n")
	resp := []byte(`{"jsonrpc":"2.0","id":12345,"result":{}}` + "\n")
	b.SetBytes(int64(len(req)))
	b.ReportAllocs()
	for b.Loop() {
		p.Admit(req)
		p.Answered(resp)
	}
}
