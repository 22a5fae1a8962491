package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/together-secrets-mcp/together-secrets-mcp/togetherapi"
)

func TestKeyCommand(t *testing.T) {
	tests := []struct {
		name, line string
		timeout    time.Duration
		wantKey    string
		wantErr    string
	}{
		{"prints the key", `printf '  tgp_from_command\n\n'`, time.Second, "tgp_from_command", ""},
		{"fails", `echo "item not found" >&2; exit 3`, time.Second, "", "the key command failed with exit status 3; it said: item not found"},
		{"fails after printing the key", `echo tgp_LEAKED_KEY_123; echo "could not verify tgp_LEAKED_KEY_123" >&2; exit 1`, time.Second, "", "could not verify [REDACTED]"},
		{"prints nothing", `true`, time.Second, "", "printed nothing on stdout"},
		{"prints too much", `head -c 100000 /dev/zero | tr '\0' k`, 5 * time.Second, "", "printed more than 65536 bytes"},
		{"is not found", `/nonexistent/password-manager read key`, time.Second, "", "exit status 127"},
		{"hangs", `sleep 30`, 200 * time.Millisecond, "", "did not finish within 200ms and was stopped"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, err := runKeyCommand(context.Background(), tt.line, tt.timeout)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "LEAKED") {
					t.Errorf("the error shows the command's stdout: %v", err)
				}
				return
			}
			if err != nil || !key.Equal(togetherapi.NewSensitive(tt.wantKey)) {
				t.Fatalf("key command: %v", err)
			}
		})
	}
}

func TestAKeyCommandThatTimesOutIsKilledWithItsChildren(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	start := time.Now()
	_, err := runKeyCommand(context.Background(), `sleep 60 & echo $! > `+pidFile+`; sleep 60`, 300*time.Millisecond)
	if err == nil || time.Since(start) > 5*time.Second {
		t.Fatalf("err = %v after %s", err, time.Since(start))
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	deadline := time.Now().Add(2 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("the command's child %d outlived it", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
