package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

func TestStdioSIGTERMAfterARotationWasSentAuditsItsOutcomeAsUnknown(t *testing.T) {
	t.Parallel()
	srv, api := sandboxAPI(t)
	made := make(chan struct{})
	// Together makes the rotation, and its answer is still on the way when
	// the server is told to stop.
	srv.Answer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPatch {
			api.ServeHTTP(w, r)
			return
		}
		api.ServeHTTP(httptest.NewRecorder(), r)
		close(made)
		<-r.Context().Done()
	}))
	path := filepath.Join(t.TempDir(), "audit.log")
	p := initialized(t, srv.URL, "TOGETHER_SECRETS_AUDIT_LOG="+path)
	p.send(t, createCall(1, "e2e/ROTATED"))
	if res, _ := p.response(t, 1)["result"].(map[string]any); res == nil || res["isError"] == true {
		t.Fatalf("create: %v", res)
	}
	args, _ := json.Marshal(map[string]any{"id": "e2e/ROTATED", "value": e2eValue + "-2"})
	p.send(t, fmt.Sprintf(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"update_secret","arguments":%s}}`, args))
	select {
	case <-made:
	case <-time.After(10 * time.Second):
		t.Fatalf("the rotation never reached the stand-in; stderr:\n%s", p.stderr.String())
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	p.waitExit(t)
	if !api.ValueMatches("e2e/ROTATED", e2eValue+"-2") {
		t.Fatal("the stand-in did not make the rotation the test is about")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := auditEntries(t, string(b))
	if len(lines) != 4 {
		t.Fatalf("%d audit lines, want 4:\n%s", len(lines), b)
	}
	if last := lines[3]; last["tool"] != "update_secret" || last["phase"] != "outcome" || last["outcome"] != "unknown" {
		t.Errorf("the rotation's outcome line is %v, want unknown", last)
	}
	assertClean(t, map[string]string{"stdout": p.allStdout(), "stderr": p.stderr.String(), "audit": string(b)})
}
