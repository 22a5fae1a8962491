package linecap_test

import (
	"testing"

	"github.com/together-secrets-mcp/together-secrets-mcp/internal/apitest"
)

// No goroutine may outlive the tests: every listen must end all it started.
func TestMain(m *testing.M) { apitest.CheckGoroutines(m) }
