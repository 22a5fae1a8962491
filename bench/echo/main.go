// Command echo is the stdio floor: it answers every line with the same
// canned JSON-RPC result, the size of a create_secret result, and does
// nothing else.
package main

import (
	"bufio"
	"os"
)

const canned = `{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"{\"object\":\"secret\",\"id\":\"sec-000000000000000000000001\",\"name\":\"bench/S000001\",\"created_at\":\"2026-11-26T00:00:00Z\",\"updated_at\":\"2026-11-26T00:00:00Z\",\"created_by\":\"bench\",\"last_updated_by\":\"bench\"}"}],"structuredContent":{"object":"secret","id":"sec-000000000000000000000001","name":"bench/S000001","created_at":"2026-11-26T00:00:00Z","updated_at":"2026-11-26T00:00:00Z","created_by":"bench","last_updated_by":"bench"}}}` + "\n"

func main() {
	in := bufio.NewReaderSize(os.Stdin, 1<<16)
	out := bufio.NewWriter(os.Stdout)
	for {
		if _, err := in.ReadSlice('\n'); err != nil {
			return
		}
		_, _ = out.WriteString(canned)
		// Flush only when no more input is waiting, as a server writing
		// each response promptly would appear to a pipelined client.
		if in.Buffered() == 0 {
			if err := out.Flush(); err != nil {
				return
			}
		}
	}
}
