// Command relay is the process floor: for each line on stdin it makes the
// create POST directly with net/http and writes a canned line back. It is
// what any stdio server forwarding to Together must do at the least, with
// no MCP at all.
package main

import (
	"bufio"
	"io"
	"net/http"
	"os"
	"strings"
)

const body = `{"name":"bench/RELAY","value":"bench-value-0123456789abcdef"}`

func main() {
	url := os.Getenv("TOGETHER_BASE_URL") + "/deployments/secrets"
	key := os.Getenv("TOGETHER_API_KEY")
	in := bufio.NewReaderSize(os.Stdin, 1<<16)
	out := bufio.NewWriter(os.Stdout)
	for {
		line, err := in.ReadSlice('\n')
		if err != nil {
			return
		}
		if strings.Contains(string(line), `"notifications/`) {
			continue
		}
		if !strings.Contains(string(line), `"tools/call"`) {
			// The handshake: answer at once.
			_, _ = out.WriteString(`{"jsonrpc":"2.0","id":0,"result":{}}` + "\n")
			_ = out.Flush()
			continue
		}
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		_, _ = out.WriteString(`{"jsonrpc":"2.0","id":1,"result":` + strings.TrimSpace(string(b)) + "}\n")
		_ = out.Flush()
	}
}
