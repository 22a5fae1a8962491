package httpserve

import (
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/together-secrets-mcp/together-secrets-mcp/internal/netguard"
)

// hostGuard refuses a Host this server was not told to answer to: against
// DNS rebinding on loopback, and a proxy forwarding a name it does not
// know.
func (s *Server) hostGuard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		local, _ := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
		if !s.hostAllowed(r.Host, local) {
			writePlain(w, http.StatusForbidden, fmt.Sprintf("forbidden: this server does not answer to the host %q; "+
				"if a proxy forwards that name, add it to %s on the server", r.Host, s.cfg.Words.AllowedHosts))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// hostAllowed reports whether a request's Host header may be served on a
// connection to local: a loopback name, the page's host and an allowed
// host always, and any other only when no list is set and the connection
// did not come in on loopback, where a foreign name is the mark of DNS
// rebinding.
func (s *Server) hostAllowed(host string, local net.Addr) bool {
	if s.namedHost(host) {
		return true
	}
	if len(s.cfg.AllowedHosts) > 0 || s.loopback {
		return false
	}
	if tcp, ok := local.(*net.TCPAddr); ok && tcp.IP.IsLoopback() {
		return false
	}
	return true
}

// namedHost reports whether host, a request's Host header, is one this
// server was told to answer to: a loopback name, the page's host, or an
// allowed host.
func (s *Server) namedHost(host string) bool {
	host = strings.ToLower(host)
	name := host
	if hn, _, err := net.SplitHostPort(host); err == nil {
		name = hn
	}
	if netguard.IsLoopback(name) || s.pageHost(host) {
		return true
	}
	for _, a := range s.cfg.AllowedHosts {
		if a == host || a == name {
			return true
		}
	}
	return false
}
