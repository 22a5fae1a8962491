package linecap

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/mark3labs/mcp-go/mcp"
)

// Pending bounds the requests read but not yet answered, in count and in
// bytes. A stdio server queues what it reads until a worker is free, and a
// queue bounded only in count can hold thousands of lines of megabytes
// each; with Pending, a request beyond either bound is answered "busy" at
// once and costs nothing more. A request's share is given back when its
// answer is written.
//
// A share is taken for every line the server will answer, and kept under
// the id exactly as the server will write it back ("null" included): a
// share taken for a line never answered would be held for good, and a line
// answered without one would give back another's. So each line is read as
// mcp-go v1.2.1 reads it (server/stdio.go, processMessage;
// server/request_handler.go, HandleMessage): by encoding/json, into structs
// of the same fields and types, which settles every spelling the same way
// the server does (keys matched without regard to case, the last of a
// repeated key winning, a number read as a float64, a string's escapes and
// invalid UTF-8 decoded). A line the server will never answer waits for
// nothing, but for a tools/call, which waits for a worker behind the calls
// that run: such a line does nothing, and is kept from the server.
type Pending struct {
	maxCount int
	maxBytes int64

	mu    sync.Mutex
	count int
	bytes int64
	sizes map[string][]int64 // by id as the server writes it; a client may reuse one
	// asked holds the ids of the server's own requests to the client that
	// are waiting for its answer, as far as the lines seen can tell.
	asked map[int64]struct{}
}

// NewPending returns a Pending that admits at most maxCount requests and
// maxBytes bytes of them at once.
func NewPending(maxCount int, maxBytes int64) *Pending {
	return &Pending{maxCount: maxCount, maxBytes: maxBytes, sizes: map[string][]int64{}, asked: map[int64]struct{}{}}
}

// ErrStrayResponse refuses a line the server would take for a response,
// one that carries a result or an error, but that answers no request of
// the server's that is sure to be waiting. Whether mcp-go would take it
// as an answer depends on a table of its own that no reader can see (a
// request of the server's is in it a moment before it is written, and
// stays a moment after its answer), so it is kept from the server: let
// through, a line the server then dropped would hold a share for good, or
// one it answered would give back another request's. The id is nil when
// the server would have answered nothing.
var ErrStrayResponse = errors.New("a response to no request of the server's that is waiting")

// ErrIdleCall refuses a tools/call the server would queue for a worker,
// behind the calls that run, and then answer nothing: a notification, or
// one that carries a result.
var ErrIdleCall = errors.New("a tools/call the server would queue and never answer")

// BusyError refuses a request that would pass a bound, with the load at
// the time.
type BusyError struct {
	Count int
	Bytes int64
}

func (e *BusyError) Error() string {
	return fmt.Sprintf("busy: %d requests (%d bytes) wait for an answer", e.Count, e.Bytes)
}

// message is how mcp-go's HandleMessage reads every message: the same
// fields, of the same types, so that a line fails to decode exactly when
// it fails there.
type message struct {
	JSONRPC string `json:"jsonrpc"`
	Method  string `json:"method"`
	ID      any    `json:"id,omitempty"`
	Result  any    `json:"result,omitempty"`
}

// reply is how mcp-go's stdio server reads a line first, to see whether it
// answers a request of the server's (handleSamplingResponse and its two
// twins).
type reply struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.Number     `json:"id"`
	Result  json.RawMessage `json:"result,omitempty"`
	Error   *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error,omitempty"`
}

// The methods whose lines the server treats apart: a notification that
// ends a request, and with it any request of the server's that the request
// was waiting on; and the calls the server queues for its workers.
const (
	cancelled = "notifications/cancelled"
	toolsCall = "tools/call"
)

// fate is what the server will do with a line, read as HandleMessage reads
// it.
type fate struct {
	// answer is the id the server's answer will carry, as it writes it
	// ("null" included), or nil when no answer will come.
	answer []byte
	// response says the server takes the line for a response, and drops it.
	response bool
	// cancels says the line is a notification that cancels a request.
	cancels bool
	// queued says the server queues the line for a tool-call worker.
	queued bool
}

var null = []byte("null")

// readFate reads a line as HandleMessage does.
func readFate(line []byte) fate {
	var m message
	if json.Unmarshal(line, &m) != nil {
		return fate{answer: null} // "Failed to parse message"
	}
	f := fate{queued: m.Method == toolsCall}
	switch {
	case m.ID == nil && m.JSONRPC != "2.0":
		f.answer = null // "Invalid JSON-RPC version"
	case m.ID == nil:
		var n mcp.JSONRPCNotification
		if json.Unmarshal(line, &n) != nil {
			f.answer = null // "Failed to parse notification"
		}
		f.cancels = m.Method == cancelled
	case m.JSONRPC == "2.0" && m.Result != nil:
		f.response = true
	default:
		// The server writes the id back through json.Marshal, of the
		// value decoded above; that cannot fail for what encoding/json
		// decoded.
		id, err := json.Marshal(m.ID)
		if err != nil {
			return fate{answer: null}
		}
		f.answer = id
	}
	return f
}

// repliesTo reports whether the stdio server would take line as the answer
// to its own request n, were n waiting, and returns the decoding error: a
// *json.SyntaxError when the line is not JSON at all.
func repliesTo(line []byte) (n int64, ok bool, err error) {
	var r reply
	if err := json.Unmarshal(line, &r); err != nil {
		return 0, false, err
	}
	n, err = r.ID.Int64()
	if err != nil || (r.Result == nil && r.Error == nil) {
		return 0, false, nil
	}
	return n, true, nil
}

// Admit takes in one whole line read from the client, before the server
// reads it. A line the server will answer passes if it fits, and is then
// tracked until Answered sees its answer; one that does not fit is refused
// with a *BusyError. A line the server will not answer passes untracked,
// but for a response to no request of the server's still waiting, refused
// with ErrStrayResponse, and a call the server would queue and never
// answer, refused with ErrIdleCall. A refusal comes with the id to answer
// it with, as the server would have written it; nil for none.
func (p *Pending) Admit(line []byte) (id json.RawMessage, err error) {
	n, isReply, err := repliesTo(line)
	var syntax *json.SyntaxError
	if errors.As(err, &syntax) {
		return p.admit(line, null) // answered "Parse error"
	}
	f := readFate(line)
	p.mu.Lock()
	if f.cancels {
		// A cancelled request ends the server's requests it waits on, and
		// which those are no line says: none is sure to be waiting now.
		clear(p.asked)
	}
	if isReply {
		_, asked := p.asked[n]
		delete(p.asked, n)
		p.mu.Unlock()
		if asked {
			return nil, nil // the server takes it, and answers nothing
		}
		return f.answer, ErrStrayResponse
	}
	p.mu.Unlock()
	switch {
	case f.response:
		return nil, ErrStrayResponse
	case f.answer == nil && f.queued:
		return nil, ErrIdleCall
	case f.answer == nil:
		return nil, nil
	}
	return p.admit(line, f.answer)
}

// admit tracks a line the server will answer with id, if it fits.
func (p *Pending) admit(line, id []byte) (json.RawMessage, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	// The line waits, and so does the id it is tracked by.
	size := int64(len(line) + len(id))
	if p.count+1 > p.maxCount || p.bytes+size > p.maxBytes {
		return id, &BusyError{Count: p.count, Bytes: p.bytes}
	}
	p.count++
	p.bytes += size
	p.sizes[string(id)] = append(p.sizes[string(id)], size)
	return nil, nil
}

// Answered takes in one whole message the server writes to the client: an
// answer gives back the share of the request it answers, and a request of
// the server's own is remembered until the client answers it.
func (p *Pending) Answered(msg []byte) {
	id, method := outgoing(msg)
	if id == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if method {
		// The server numbers its requests from 1, as int64.
		if n, err := strconv.ParseInt(string(id), 10, 64); err == nil && len(p.asked) < p.maxCount {
			p.asked[n] = struct{}{}
		}
		return
	}
	s := p.sizes[string(id)]
	if len(s) == 0 {
		return
	}
	// Requests that share an id cannot be told apart by their answers: give
	// back the smallest share, so that what still waits is never counted
	// as less than it is.
	i := 0
	for j, size := range s {
		if size < s[i] {
			i = j
		}
	}
	p.count--
	p.bytes -= s[i]
	if len(s) == 1 {
		delete(p.sizes, string(id))
	} else {
		p.sizes[string(id)] = append(s[:i], s[i+1:]...)
	}
}

// Load returns the requests waiting for an answer, and their bytes.
func (p *Pending) Load() (count int, bytes int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.count, p.bytes
}

// outgoing reads the top-level id of a message the server writes, and
// whether the message has a method. The server writes with encoding/json:
// compact, keys unescaped and each written once, and the id before a
// result or an error, which is where reading stops.
func outgoing(msg []byte) (id []byte, method bool) {
	i := 0
	for i < len(msg) && msg[i] != '{' {
		i++
	}
	i++
	for i < len(msg) && msg[i] == '"' {
		keyEnd := valueEnd(msg, i)
		if keyEnd < 0 || keyEnd >= len(msg) || msg[keyEnd] != ':' {
			return nil, false
		}
		key := string(msg[i+1 : keyEnd-1])
		if (key == "result" || key == "error") && id != nil {
			return id, method
		}
		end := valueEnd(msg, keyEnd+1)
		if end < 0 {
			return nil, false
		}
		switch key {
		case "id":
			id = msg[keyEnd+1 : end]
		case "method":
			method = true
		}
		i = end
		if i < len(msg) && msg[i] == ',' {
			i++
		}
	}
	return id, method
}

// valueEnd returns where the compact JSON value that starts at msg[i]
// ends, or -1 when it does not.
func valueEnd(msg []byte, i int) int {
	if i >= len(msg) {
		return -1
	}
	switch msg[i] {
	case '"':
		for j := i + 1; j < len(msg); j++ {
			switch msg[j] {
			case '\\':
				j++
			case '"':
				return j + 1
			}
		}
		return -1
	case '{', '[':
		depth := 0
		for j := i; j < len(msg); j++ {
			switch msg[j] {
			case '"':
				end := valueEnd(msg, j)
				if end < 0 {
					return -1
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	}
	for j := i; j < len(msg); j++ { // a number, true, false or null
		if c := msg[j]; c == ',' || c == '}' || c == ']' {
			return j
		}
	}
	return -1
}
