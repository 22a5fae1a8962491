package httpserve

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// bodyGuard reads a POST's body whole, at most MaxRequestBody bytes and
// within the body deadline, and puts it back for mcp-go to read. The bodies
// held at once share one budget of bytes, taken as they arrive and given
// back when the request is done: a caller who stalls holds no in-flight
// slot, so without it nothing would bound what stalled bodies hold
// together. A drain ends every body still being read at once, rather than
// waiting on a caller who stalls.
func (s *Server) bodyGuard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			next.ServeHTTP(w, r)
			return
		}
		if r.ContentLength > MaxRequestBody {
			writePlain(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", MaxRequestBody))
			return
		}
		rc := http.NewResponseController(w)
		_ = rc.SetReadDeadline(time.Now().Add(s.cfg.BodyTimeout))
		done := s.reading.add(rc)
		var body net.Buffers
		var held int64
		var err error
		if !s.draining.Load() {
			body, held, err = readBody(r.Body, r.ContentLength, s.bodies)
		}
		defer s.bodies.give(held)
		done()
		if s.draining.Load() || err != nil {
			refuseBody(w, err, s.draining.Load(), s.cfg.BodyTimeout)
			return
		}
		_ = rc.SetReadDeadline(time.Time{})
		r.ContentLength = bufferedLen(body)
		r.Body = io.NopCloser(&body)
		next.ServeHTTP(w, r)
	})
}

// refuseBody answers a body that was not read whole: err is why, unless
// the server is draining.
func refuseBody(w http.ResponseWriter, err error, draining bool, timeout time.Duration) {
	switch {
	case draining:
		w.Header().Set("Connection", "close")
		writePlain(w, http.StatusServiceUnavailable, "shutting down: retry, and another replica will answer")
	case errors.Is(err, errBodyTooLarge):
		writePlain(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", MaxRequestBody))
	case errors.Is(err, errNoBodyBudget):
		w.Header().Set("Connection", "close")
		w.Header().Set("Retry-After", "1")
		writePlain(w, http.StatusServiceUnavailable, "busy: too many request bodies are held at once; retry in a second")
	default:
		w.Header().Set("Connection", "close")
		writePlain(w, http.StatusRequestTimeout, fmt.Sprintf("request timeout: the body was not sent within %s", timeout))
	}
}

// How a body is read: in pieces, each taken from the budget before it is
// made, the first small and each twice the last up to the largest, so that
// what a body holds is never much more than what has arrived.
const (
	firstBodyPiece = 4 << 10
	maxBodyPiece   = 64 << 10
)

var (
	errBodyTooLarge = errors.New("request body over the limit")
	errNoBodyBudget = errors.New("no budget left for request bodies")
)

// readBody reads body, declared bytes long or -1 when unknown, into pieces
// taken from budget. It returns them and the bytes they took, to give back
// when the request is done, whatever the error.
func readBody(body io.Reader, declared int64, budget *byteBudget) (pieces net.Buffers, held int64, err error) {
	var n int64
	for size := int64(firstBodyPiece); ; size = min(2*size, maxBodyPiece) {
		// One byte past the limit tells a body over it.
		want := min(size, MaxRequestBody+1-n)
		if declared >= 0 {
			if n == declared {
				return pieces, held, nil
			}
			want = min(want, declared-n)
		}
		if !budget.take(want) {
			return pieces, held, errNoBodyBudget
		}
		held += want
		piece, err := fill(body, make([]byte, want))
		n += int64(len(piece))
		if len(piece) > 0 {
			pieces = append(pieces, piece)
		} else {
			budget.give(want)
			held -= want
		}
		switch {
		case n > MaxRequestBody:
			return pieces, held, errBodyTooLarge
		case err == io.EOF && n < declared:
			// Short of what was declared: cut off, not whole.
			return pieces, held, io.ErrUnexpectedEOF
		case err == io.EOF:
			return pieces, held, nil
		case err != nil:
			return pieces, held, err
		}
	}
}

// fill reads into p until it is full or the first error, which it returns
// as the reader gave it: io.EOF is the end of the body; anything else, such
// as a body cut short, is not.
func fill(r io.Reader, p []byte) ([]byte, error) {
	n := 0
	for n < len(p) {
		k, err := r.Read(p[n:])
		n += k
		if err != nil {
			return p[:n], err
		}
	}
	return p, nil
}

func bufferedLen(b net.Buffers) int64 {
	var n int64
	for _, p := range b {
		n += int64(len(p))
	}
	return n
}

// bodyReads are the requests whose bodies are being read, so that a drain
// can end them at once.
type bodyReads struct {
	mu   sync.Mutex
	next int
	rcs  map[int]*http.ResponseController
}

// add records rc and returns the function that forgets it.
func (b *bodyReads) add(rc *http.ResponseController) (done func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.rcs == nil {
		b.rcs = map[int]*http.ResponseController{}
	}
	id := b.next
	b.next++
	b.rcs[id] = rc
	return func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		delete(b.rcs, id)
	}
}

// cutAll makes every body being read fail now.
func (b *bodyReads) cutAll() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, rc := range b.rcs {
		_ = rc.SetReadDeadline(time.Now())
	}
}

// byteBudget is a number of bytes that requests take from and give back.
type byteBudget struct {
	mu   sync.Mutex
	size int64
	free int64
}

func newByteBudget(size int64) *byteBudget {
	return &byteBudget{size: size, free: size}
}

// take takes n bytes if they are free, and reports whether it did. It
// never waits: a request that cannot have them is refused at once.
func (b *byteBudget) take(n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if n > b.free {
		return false
	}
	b.free -= n
	return true
}

func (b *byteBudget) give(n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.free += n
}

// held is how many bytes are taken.
func (b *byteBudget) held() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.size - b.free
}
