package httpserve

import "net/http"

// methodGuard refuses a query string, where a key must never go, and GET:
// a stateless server has no session for a standing stream to serve, and
// one held open would take a request slot for nothing.
func methodGuard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.RawQuery != "" {
			writePlain(w, http.StatusBadRequest, "bad request: no query parameters are accepted; send the API key in the Authorization header")
			return
		}
		if r.Method == http.MethodGet {
			w.Header().Set("Allow", "POST, DELETE")
			writePlain(w, http.StatusMethodNotAllowed, "method not allowed: this server is stateless and offers no standing event stream; POST each message")
			return
		}
		next.ServeHTTP(w, r)
	})
}
