package togetherapi_test

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/together-secrets-mcp/together-secrets-mcp/togetherapi"
)

// BenchmarkListDeployments measures one read of 200 deployments of 20
// variables each, half plain, through the client against a stand-in that
// answers at once: what get_secret and list_secrets pay for used_by. Run
// with -benchmem.
func BenchmarkListDeployments(b *testing.B) {
	var deps []string
	for d := range 200 {
		var vars []string
		for v := range 20 {
			if v%2 == 0 {
				vars = append(vars, fmt.Sprintf(`{"name":"PLAIN_%d","value":"plain-value-%d-%d-0123456789abcdef"}`, v, d, v))
			} else {
				vars = append(vars, fmt.Sprintf(`{"name":"REF_%d","value_from_secret":"team/secret-%d"}`, v, v))
			}
		}
		deps = append(deps, fmt.Sprintf(`{"object":"deployment","id":"dep-%d","name":"app-%d","status":"Ready","updated_at":"2026-11-02T00:00:00Z","environment_variables":[%s]}`,
			d, d, strings.Join(vars, ",")))
	}
	srv := httptest.NewServer(respond(200, `{"object":"list","data":[`+strings.Join(deps, ",")+`]}`))
	defer srv.Close()
	c, err := togetherapi.New(togetherapi.Config{BaseURL: srv.URL, APIKey: togetherapi.NewSensitive(testKey)})
	if err != nil {
		b.Fatal(err)
	}
	defer togetherapi.CloseIdleConnections(c)
	b.ReportAllocs()
	for b.Loop() {
		list, err := c.ListDeployments(b.Context())
		if err != nil || len(list) != 200 {
			b.Fatal(len(list), err)
		}
	}
}
