//go:build windows

package keycommand

import (
	"context"
	"os/exec"
)

// shellCommand runs line with cmd.exe. Cancelling kills cmd.exe; a job
// object would be needed to reach what it started.
func shellCommand(ctx context.Context, line string) *exec.Cmd {
	return exec.CommandContext(ctx, "cmd.exe", "/C", line)
}

// killGroup kills the command if it still runs; without a job object, what
// it started is out of reach, and the caller stops waiting on its output.
func killGroup(cmd *exec.Cmd) { _ = cmd.Process.Kill() }
