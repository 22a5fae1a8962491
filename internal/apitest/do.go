package apitest

import (
	"io"
	"net/http"
	"testing"
)

// Do sends req with http.DefaultClient and returns the response, its body
// already read and closed, and that body as text.
func Do(t testing.TB, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the answer to %s %s: %v", req.Method, req.URL.Path, err)
	}
	return resp, string(b)
}
