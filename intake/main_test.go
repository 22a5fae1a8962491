package intake_test

import (
	"testing"

	"github.com/together-secrets-mcp/together-secrets-mcp/internal/apitest"
)

// No goroutine may outlive the tests: every page and link must end all it
// started. A page's Close shuts its server down in the background, under a
// deadline, while net/http lets the last answer's connection linger for
// 500 ms; the check waits for that to end, and still reports it if it
// does not.
func TestMain(m *testing.M) {
	apitest.CheckGoroutinesOnceEnded(m, "intake.(*Server).closeLocked.func1")
}
