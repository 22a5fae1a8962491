package httpserve

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/together-secrets-mcp/together-secrets-mcp/internal/netguard"
)

// originGuard lets through requests without an Origin (clients that are no
// browser), from a configured origin (with CORS headers, and an answer to
// the preflight), and, on loopback, from a loopback origin.
func (s *Server) originGuard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch origin := r.Header.Get("Origin"); {
		case origin == "":
		case slices.Contains(s.cfg.AllowedOrigins, strings.ToLower(origin)):
			cors(w, origin)
			if r.Method == http.MethodOptions {
				w.WriteHeader(http.StatusNoContent)
				return
			}
		case s.loopback && isLoopbackOrigin(origin):
			// A page served from this machine; no CORS headers, so a
			// browser lets it call only from the same origin.
		default:
			writePlain(w, http.StatusForbidden, "forbidden: origin not allowed; a browser client's origin must be listed in "+s.cfg.Words.AllowedOrigins+" on the server")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// isLoopbackOrigin reports whether origin is http(s) on a loopback host.
func isLoopbackOrigin(origin string) bool {
	u, err := url.Parse(origin)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && netguard.IsLoopback(u.Hostname())
}

// cors sets the headers that let an allowed browser origin call.
func cors(w http.ResponseWriter, origin string) {
	hd := w.Header()
	hd.Set("Access-Control-Allow-Origin", origin)
	hd.Add("Vary", "Origin")
	hd.Set("Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS")
	hd.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Accept, Mcp-Protocol-Version, Mcp-Session-Id, Last-Event-ID")
	hd.Set("Access-Control-Expose-Headers", "Mcp-Session-Id, WWW-Authenticate")
	hd.Set("Access-Control-Max-Age", "600")
}
