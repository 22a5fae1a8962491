package httpserve

import (
	"net"
	"net/http"
	"strings"
)

// Page is a page HTTP mode serves beside MCP, on the same listener and
// under the same bounds, such as the team-mode value page. It is behind
// the guards that fit a browser's request: the Host (its own host served
// without an allowed-hosts entry), the body read whole under the shared
// budget, and an in-flight slot taken only once the body is read. It
// checks a POST's Origin itself, against its own.
type Page struct {
	// Path is the pattern it is mounted at, ending in "/". What follows
	// it in a request's path (a sealed ticket) is never logged: the page
	// logs its own event, naming the link by a fingerprint.
	Path string
	// Host is the host of the page's public URL, lower-case, with its
	// port unless it is the scheme's default.
	Host    string
	Handler http.Handler
}

// mountPage puts the page on the mux behind its guards.
func (s *Server) mountPage(p *Page) {
	s.mux.Handle(p.Path, chain(p.Handler, s.hostGuard, s.bodyGuard, s.inFlightGuard))
}

// pageHost reports whether host, a request's Host header, names the page's
// public host: its name, on any port, since a proxy in front may forward
// the port it listens on.
func (s *Server) pageHost(host string) bool {
	p := s.cfg.Page
	if p == nil {
		return false
	}
	want := p.Host
	if hn, _, err := net.SplitHostPort(want); err == nil {
		want = hn
	}
	name := host
	if hn, _, err := net.SplitHostPort(host); err == nil {
		name = hn
	}
	return strings.EqualFold(name, want)
}
