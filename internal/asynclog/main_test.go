package asynclog_test

import (
	"testing"

	"github.com/together-secrets-mcp/together-secrets-mcp/internal/apitest"
)

// No goroutine may outlive the tests: every writer must end all it started, once closed.
func TestMain(m *testing.M) { apitest.CheckGoroutines(m) }
