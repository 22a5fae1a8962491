package tools_test

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/rs/zerolog"

	"github.com/together-secrets-mcp/together-secrets-mcp/internal/apitest"
	"github.com/together-secrets-mcp/together-secrets-mcp/togetherapi"
	"github.com/together-secrets-mcp/together-secrets-mcp/tools"
)

// BenchmarkCreateSecret measures one create_secret call through the real
// mcp-go in-process client, the server's handler and the HTTP client,
// against a stand-in that answers at once. Run with -benchmem: allocations
// per call are the server's own cost; the stdio figures come from go run
// ./bench.
func BenchmarkCreateSecret(b *testing.B) {
	benchmarkCreateSecret(b, "bench-value-0123456789abcdef")
}

// BenchmarkCreateSecretOfALargeValue is BenchmarkCreateSecret with a value
// of the largest size accepted, where what the server does with the value
// (reading, checking, wrapping, scrubbing) shows.
func BenchmarkCreateSecretOfALargeValue(b *testing.B) {
	benchmarkCreateSecret(b, strings.Repeat("v", togetherapi.ValueMaxBytes))
}

func benchmarkCreateSecret(b *testing.B, value string) {
	b.Helper()
	api := apitest.NewCreateStandIn()
	defer api.Close()
	c, err := togetherapi.New(togetherapi.Config{BaseURL: api.URL + "/v1", APIKey: togetherapi.NewSensitive("bench-key-0123456789")})
	if err != nil {
		b.Fatal(err)
	}
	s, err := tools.NewServer(tools.Config{Logger: zerolog.New(io.Discard)})
	if err != nil {
		b.Fatal(err)
	}
	mc, err := client.NewInProcessClientWithOptions(s, client.WithProtocolVersion(mcp.ProtocolVersion20251125))
	if err != nil {
		b.Fatal(err)
	}
	ctx := tools.WithDeps(context.Background(), tools.Deps{Client: c})
	if err := mc.Start(ctx); err != nil {
		b.Fatal(err)
	}
	if _, err := mc.Initialize(ctx, mcp.InitializeRequest{Params: mcp.InitializeParams{ClientInfo: mcp.Implementation{Name: "b", Version: "1"}}}); err != nil {
		b.Fatal(err)
	}
	defer mc.Close()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		res, err := mc.CallTool(ctx, mcp.CallToolRequest{Params: mcp.CallToolParams{Name: "create_secret",
			Arguments: map[string]any{"name": fmt.Sprintf("bench/S%d", i), "value": value}}})
		if err != nil || res.IsError {
			b.Fatalf("call %d: %v %+v", i, err, res)
		}
	}
}
