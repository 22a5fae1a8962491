package tools_test

import (
	"testing"

	"go.uber.org/goleak"
)

// No goroutine may outlive the tests: every call must end all it started.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
