package httpserve

import (
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// newConnGrace is how long a new connection may go without sending a
// whole request's headers, once the cap is reached, before it gives up its
// place: a caller sends its request as soon as it connects, and one that
// has not within a second, silent or trickling, holds a place without
// using it. Left alone it would hold it for the header timeout.
const newConnGrace = time.Second

// connCap is HTTP mode's listener: at most max connections open at once.
// When all places are taken, a connection serving no request gives up its
// place to the next one, the one that has waited longest first, as nginx
// reclaims keep-alive connections. Otherwise a caller holding connections
// open and idle would lock every other caller out for the idle timeout.
// A connection in a request keeps its place; the server's timeouts bound
// how long.
//
// It learns which connections are in a request from the server's
// ConnState hook, track.
type connCap struct {
	net.Listener
	max      int
	newGrace time.Duration

	mu   sync.Mutex
	open map[*capConn]struct{}
	// changed is closed, and replaced, when a place may have come free:
	// a connection closed or went idle.
	changed chan struct{}
	closed  bool
}

func newConnCap(ln net.Listener, max int) *connCap {
	return &connCap{Listener: ln, max: max, newGrace: newConnGrace, open: map[*capConn]struct{}{}, changed: make(chan struct{})}
}

// Accept waits until there is a place, or a connection that could give
// one up, before it takes the next connection from the kernel's queue.
func (l *connCap) Accept() (net.Conn, error) {
	if err := l.place(nil); err != nil {
		return nil, err
	}
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	cc := &capConn{Conn: c, l: l, state: http.StateNew, since: time.Now()}
	if err := l.place(cc); err != nil {
		c.Close()
		return nil, err
	}
	return cc, nil
}

// place waits until cc can be given a place and gives it one, closing the
// connection that has been out of a request longest when there is no free
// place. With cc nil it only waits until one could be given.
func (l *connCap) place(cc *capConn) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for !l.closed {
		free, victim, wait := l.room()
		switch {
		case free:
			if cc != nil {
				l.open[cc] = struct{}{}
			}
			return nil
		case victim != nil && cc == nil:
			return nil
		case victim != nil:
			delete(l.open, victim)
			victim.released = true
			l.open[cc] = struct{}{}
			victim.Conn.Close()
			return nil
		}
		l.wait(wait)
	}
	return net.ErrClosed
}

// room says whether a connection may have a place: free when one is,
// else by closing victim. With neither, wait is how long until a silent
// new connection could give up its place; a close or a connection going
// idle may come sooner. l.mu is held.
func (l *connCap) room() (free bool, victim *capConn, wait time.Duration) {
	if len(l.open) < l.max {
		return true, nil, 0
	}
	now := time.Now()
	wait = time.Hour
	for c := range l.open {
		switch {
		case c.state == http.StateIdle, c.state == http.StateNew && now.Sub(c.since) >= l.newGrace:
			if victim == nil || c.since.Before(victim.since) {
				victim = c
			}
		case c.state == http.StateNew:
			wait = min(wait, l.newGrace-now.Sub(c.since))
		}
	}
	return false, victim, wait
}

// wait lets go of l.mu until a place may have come free, or for d.
func (l *connCap) wait(d time.Duration) {
	changed := l.changed
	l.mu.Unlock()
	defer l.mu.Lock()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-changed:
	case <-timer.C:
	}
}

// track is the server's ConnState hook: it records whether each connection
// is in a request, and since when it has not been.
func (l *connCap) track(c net.Conn, state http.ConnState) {
	cc := unwrapCapConn(c)
	if cc == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if cc.state == state {
		return
	}
	cc.state = state
	if state == http.StateIdle {
		cc.since = time.Now()
		l.notify()
	}
}

// unwrapCapConn finds the capConn beneath c, which TLS wraps.
func unwrapCapConn(c net.Conn) *capConn {
	for {
		switch v := c.(type) {
		case *capConn:
			return v
		case interface{ NetConn() net.Conn }:
			c = v.NetConn()
		default:
			return nil
		}
	}
}

// notify wakes whoever waits for a place. l.mu is held.
func (l *connCap) notify() {
	close(l.changed)
	l.changed = make(chan struct{})
}

func (l *connCap) release(cc *capConn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !cc.released {
		cc.released = true
		delete(l.open, cc)
		l.notify()
	}
}

func (l *connCap) Close() error {
	l.mu.Lock()
	if !l.closed {
		l.closed = true
		l.notify()
	}
	l.mu.Unlock()
	return l.Listener.Close()
}

// capConn is a connection holding a place. It passes on CloseWrite and
// ReadFrom, which net/http looks for on a connection: without CloseWrite,
// a refusal such as 431 for headers over the limit is followed by a reset
// instead of an end, and the caller may lose the answer.
type capConn struct {
	net.Conn
	l *connCap
	// Guarded by l.mu.
	state    http.ConnState
	since    time.Time // when it last came out of a request, or was accepted
	released bool
}

func (c *capConn) Close() error {
	err := c.Conn.Close()
	c.l.release(c)
	return err
}

func (c *capConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

func (c *capConn) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(struct{ io.Writer }{c.Conn}, r)
}
