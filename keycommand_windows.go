//go:build windows

package main

import (
	"context"
	"os/exec"
)

// shellCommand runs line with cmd.exe. Cancelling kills cmd.exe; a job
// object would be needed to reach what it started, which WaitDelay bounds.
func shellCommand(ctx context.Context, line string) *exec.Cmd {
	return exec.CommandContext(ctx, "cmd.exe", "/C", line)
}
