// Command httprelay is the HTTP floor: for each POST it receives, it makes
// the create POST to Together directly with net/http, with the caller's
// Authorization header, and answers with the response wrapped in a canned
// JSON-RPC envelope. It is what any HTTP server forwarding to Together must
// do at the least, with no MCP at all.
//
//	httprelay ADDR
package main

import (
	"io"
	"net/http"
	"os"
	"strings"
)

const body = `{"name":"bench/HTTPRELAY","value":"bench-value-0123456789abcdef"}`

func main() {
	url := os.Getenv("TOGETHER_BASE_URL") + "/deployments/secrets"
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 512}}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		req, _ := http.NewRequestWithContext(r.Context(), http.MethodPost, url, strings.NewReader(body))
		req.Header.Set("Authorization", r.Header.Get("Authorization"))
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"jsonrpc":"2.0","id":1,"result":`+strings.TrimSpace(string(b))+"}")
	})
	if err := http.ListenAndServe(os.Args[1], h); err != nil {
		os.Exit(1)
	}
}
