package httpserve

import (
	"fmt"
	"net"
	"net/http"
	"strings"
)

// Page is a page HTTP mode serves beside MCP, on the same listener and
// under the same bounds, such as the team-mode value page. It is behind
// the guards that fit a browser's request: the Host (its own host served
// without an allowed-hosts entry, and no host nobody named), the body read
// whole under the shared budget, and an in-flight slot taken only once the
// body is read. It checks a POST's Origin itself, against its own.
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
	s.mux.Handle(p.Path, chain(p.Handler, s.pageHostGuard, s.bodyGuard, s.inFlightGuard))
}

// pageHostGuard refuses a Host that nobody named, even where /mcp answers
// to any: the public URL names the page's host, and a page that answered
// at another, which a browser takes for an origin of its own, would serve
// its form, and take its Origin "null" posts, wherever DNS points a name
// at this server.
func (s *Server) pageHostGuard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.namedHost(r.Host) {
			writePlain(w, http.StatusForbidden, fmt.Sprintf("forbidden: the value page is served at the host of its public URL, %s, not at %q; "+
				"if a proxy forwards that name, add it to %s on the server", s.cfg.Page.Host, r.Host, s.cfg.Words.AllowedHosts))
			return
		}
		next.ServeHTTP(w, r)
	})
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
