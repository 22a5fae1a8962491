package keycommand

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/together-secrets-mcp/together-secrets-mcp/internal/apitest"
	"github.com/together-secrets-mcp/together-secrets-mcp/togetherapi"
)

func TestKeyCommand(t *testing.T) {
	t.Parallel()
	apitest.NeedsProcess(t)
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
		{"prints a notice before the key", `echo "notice: session refreshed"; echo tgp_LEAKED_KEY_123`, time.Second, "", "printed 2 non-empty lines on stdout, and a key is one line"},
		{"prints the key on a line of its own among blank ones", "printf '\\n\\r\\n tgp_from_command \\r\\n\\n'", time.Second, "tgp_from_command", ""},
		{"prints three lines", `printf 'a\nb\nc\n'`, time.Second, "", "printed 3 non-empty lines"},
		{"leaves a child holding stdout", `sleep 30 & echo tgp_from_command`, 10 * time.Second, "tgp_from_command", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			key, err := Run(context.Background(), tt.line, tt.timeout)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "LEAKED") {
					t.Errorf("the error shows the command's stdout: %v", err)
				}
				return
			}
			if err != nil || key != togetherapi.NewSensitive(tt.wantKey) {
				t.Fatalf("key command: %v", err)
			}
		})
	}
}

func TestAKeyCommandsChildThatHoldsItsOutputIsKilledAndTheKeyTaken(t *testing.T) {
	t.Parallel()
	apitest.NeedsProcess(t)
	pidFile := filepath.Join(t.TempDir(), "pid")
	start := time.Now()
	key, err := Run(context.Background(), `sleep 60 & echo $! > `+pidFile+`; echo tgp_from_command`, 30*time.Second)
	if err != nil || key != togetherapi.NewSensitive("tgp_from_command") {
		t.Fatalf("key command: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("the start waited %s on a child holding stdout", d)
	}
	waitGone(t, pidFile)
}

// waitGone fails unless the process whose pid is in pidFile ends soon.
func waitGone(t *testing.T, pidFile string) {
	t.Helper()
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	apitest.WaitWithin(t, 2*time.Second, fmt.Sprintf("the command's child %d to end with it", pid), func() bool { return syscall.Kill(pid, 0) != nil })
}

func TestAKeyCommandsStderrNeverShowsPartOfTheKeyWhereItIsCut(t *testing.T) {
	t.Parallel()
	apitest.NeedsProcess(t)
	const key = "tgp_STRADDLING_KEY_0123456789abcdef"
	// The key printed to stderr at every offset around both cuts: the 2 KiB
	// shown and the 64 KiB read, and with the padding that whitespace
	// folding shrinks.
	for _, pad := range []struct {
		name  string
		char  string
		sizes []int
	}{
		{"letters", "x", []int{showKeyCommandStderr - 20, showKeyCommandStderr - 5, showKeyCommandStderr - 1, maxKeyCommandStderr - 20, maxKeyCommandStderr - 3}},
		{"spaces", " ", []int{maxKeyCommandStderr - 20, maxKeyCommandStderr - 3}},
		{"keys", key + " ", []int{maxKeyCommandStderr/(len(key)+1) - 1}},
	} {
		for _, n := range pad.sizes {
			line := fmt.Sprintf(`echo %s; awk 'BEGIN { for (i = 0; i < %d; i++) printf "%%s", "%s"; printf "%s\n" }' >&2; exit 1`, key, n, pad.char, key)
			_, err := Run(context.Background(), line, 10*time.Second)
			if err == nil {
				t.Fatal("the command failed, yet no error")
			}
			msg := strings.ReplaceAll(err.Error(), "[REDACTED]", " ")
			for l := 6; l <= len(key); l++ {
				for i := 0; i+l <= len(key); i++ {
					if strings.Contains(msg, key[i:i+l]) {
						t.Fatalf("%s x %d: %d characters of the key show: %q in %q", pad.name, n, l, key[i:i+l], err.Error())
					}
				}
			}
			if len(err.Error()) > showKeyCommandStderr+200 {
				t.Errorf("%s x %d: the error is %d bytes", pad.name, n, len(err.Error()))
			}
		}
	}
}

func TestAKeyCommandThatTimesOutIsKilledWithItsChildren(t *testing.T) {
	t.Parallel()
	apitest.NeedsProcess(t)
	pidFile := filepath.Join(t.TempDir(), "pid")
	start := time.Now()
	_, err := Run(context.Background(), `sleep 60 & echo $! > `+pidFile+`; sleep 60`, 300*time.Millisecond)
	if err == nil || time.Since(start) > 5*time.Second {
		t.Fatalf("err = %v after %s", err, time.Since(start))
	}
	waitGone(t, pidFile)
}
