package linecap

import (
	"encoding/json"
	"strconv"
	"sync"
)

// Pending bounds the requests read but not yet answered, in count and in
// bytes. A stdio server queues what it reads until a worker is free, and a
// queue bounded only in count can hold thousands of lines of megabytes
// each; with Pending, a request beyond either bound is answered "busy" at
// once and costs nothing more. A request's share is given back when its
// answer is written.
//
// Requests are matched to answers by JSON-RPC id, read the way the MCP
// server reads it (a string, or a number, integral or not), so 1, 1.0 and
// 1e0 are one id, as they are to the server.
type Pending struct {
	maxCount int
	maxBytes int64

	mu    sync.Mutex
	count int
	bytes int64
	sizes map[string][]int64 // by id; a client may reuse one
}

// NewPending returns a Pending that admits at most maxCount requests and
// maxBytes bytes of them at once.
func NewPending(maxCount int, maxBytes int64) *Pending {
	return &Pending{maxCount: maxCount, maxBytes: maxBytes, sizes: map[string][]int64{}}
}

// envelope reads what a JSON-RPC message is: its top-level id and whether
// it has a method, with the scanner the line cap uses, which keeps nothing
// else and decodes nothing: every message passes here, twice.
func envelope(msg []byte) (id json.RawMessage, method bool) {
	var s idScanner
	s.feed(msg)
	if !s.odd {
		return s.result(), s.method
	}
	// Keys spelled with escapes, or given twice: read it as the server
	// will, the last of a repeated key winning.
	var e struct {
		ID     json.RawMessage `json:"id"`
		Method *string         `json:"method"`
	}
	if json.Unmarshal(msg, &e) != nil {
		return nil, false
	}
	return e.ID, e.Method != nil
}

// Admit takes in one line read from the client. Anything but a request (a
// notification, a response to the server, a line that is not JSON) passes
// untracked. A request passes if it fits, and is then tracked until
// Answered sees its answer; one that does not fit is refused, with its id
// for the busy answer, and the counts at the time.
func (p *Pending) Admit(line []byte) (ok bool, id json.RawMessage, count int, bytes int64) {
	id, method := envelope(line)
	if !method {
		return true, nil, 0, 0
	}
	key, isID := idKey(id)
	if !isID {
		return true, nil, 0, 0
	}
	size := int64(len(line))
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.count+1 > p.maxCount || p.bytes+size > p.maxBytes {
		return false, id, p.count, p.bytes
	}
	p.count++
	p.bytes += size
	p.sizes[key] = append(p.sizes[key], size)
	return true, nil, 0, 0
}

// Answered takes in one message written to the client, and gives back the
// share of the request it answers, if any.
func (p *Pending) Answered(msg []byte) {
	id, method := envelope(msg)
	if method {
		return // a notification or a request of the server's own
	}
	key, ok := idKey(id)
	if !ok {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.sizes[key]
	if len(s) == 0 {
		return
	}
	p.count--
	p.bytes -= s[0]
	if len(s) == 1 {
		delete(p.sizes, key)
	} else {
		p.sizes[key] = s[1:]
	}
}

// Load returns the requests waiting for an answer, and their bytes.
func (p *Pending) Load() (count int, bytes int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.count, p.bytes
}

// idKey reads a JSON-RPC id as the server does: a string, or a number
// whose integral values are one whatever their spelling. Null, objects
// and arrays are no id.
func idKey(raw json.RawMessage) (string, bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", false
	}
	// The common case, read without encoding/json: a whole number as
	// written, small enough that its float64 reading would not change it.
	if n, err := strconv.ParseInt(string(raw), 10, 64); err == nil && n > -1<<53 && n < 1<<53 {
		return "i:" + strconv.FormatInt(n, 10), true
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return "s:" + s, true
	}
	var f float64
	if json.Unmarshal(raw, &f) != nil {
		return "", false
	}
	if f == float64(int64(f)) {
		return "i:" + strconv.FormatInt(int64(f), 10), true
	}
	return "f:" + strconv.FormatFloat(f, 'g', -1, 64), true
}
