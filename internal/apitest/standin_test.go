package apitest_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/together-secrets-mcp/together-secrets-mcp/internal/apitest"
)

func TestTheStandInRecordsABodyCutShortAsCutAndPassesItNoFurther(t *testing.T) {
	t.Parallel()
	var reached atomic.Int32
	api := apitest.NewAnswering(t, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached.Add(1) }))
	c, err := net.Dial("tcp", strings.TrimPrefix(api.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// 100 bytes declared, 10 sent, and then no more.
	if _, err := fmt.Fprintf(c, "POST /v1/secrets HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k\r\nContent-Length: 100\r\n\r\n0123456789"); err != nil {
		t.Fatal(err)
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	// Once answered, the request has gone as far as it will.
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || api.Count() != 1 {
		t.Fatalf("answered %d after %d requests; want 400 after 1", resp.StatusCode, api.Count())
	}
	got := api.Received()[0]
	if got.Err == nil || got.Body != "0123456789" {
		t.Errorf("recorded %q with error %v; want the 10 bytes that came, and why the rest did not", got.Body, got.Err)
	}
	if want := []string{"k POST /v1/secrets (cut short)"}; strings.Join(api.Changes(), ",") != strings.Join(want, ",") {
		t.Errorf("changes %q, want %q", api.Changes(), want)
	}
	if n := reached.Load(); n != 0 {
		t.Errorf("a body cut short reached the handler behind the stand-in %d times", n)
	}
}
