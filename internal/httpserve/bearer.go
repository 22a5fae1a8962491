package httpserve

import (
	"net/http"
	"strings"

	"github.com/together-secrets-mcp/together-secrets-mcp/internal/netguard"
	"github.com/together-secrets-mcp/together-secrets-mcp/togetherapi"
	"github.com/together-secrets-mcp/together-secrets-mcp/tools"
)

// bearerGuard takes the caller's Together key from the Authorization
// header, and builds in one step what the request's tool calls are given
// (a client with that key, and the caller named by its fingerprint) and
// what its log event tells.
func (s *Server) bearerGuard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, ok := bearerToken(r.Header.Get("Authorization"))
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="together-secrets-mcp"`)
			writePlain(w, http.StatusUnauthorized, "unauthorized: send your Together API key in the header \"Authorization: Bearer <key>\", set in your MCP client's configuration of this server")
			return
		}
		deps := tools.Deps{Client: s.cfg.Base.WithAPIKey(togetherapi.NewSensitive(key)), Caller: netguard.Fingerprint(key)}
		if info, ok := r.Context().Value(requestInfoKey{}).(*requestInfo); ok {
			info.deps = deps
		}
		next.ServeHTTP(w, r.WithContext(tools.WithDeps(r.Context(), deps)))
	})
}

// bearerToken reads a bearer token from an Authorization header. The
// scheme is case-insensitive (RFC 7235); the token is not.
func bearerToken(header string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}
