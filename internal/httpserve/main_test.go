package httpserve

import (
	"testing"

	"github.com/together-secrets-mcp/together-secrets-mcp/internal/apitest"
)

// No goroutine may outlive the tests: every request must end all it started.
func TestMain(m *testing.M) { apitest.CheckGoroutines(m) }
