package main

import (
	"encoding/json"
	"os"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/together-secrets-mcp/together-secrets-mcp/tools"
)

// The install files describe this program: they must agree with it and
// with each other. (scripts/release.sh validates them against their own
// schemas with the official tools.)
func TestInstallFilesAgreeWithTheProgram(t *testing.T) {
	t.Parallel()
	var server struct {
		Name, Version string
		Packages      []struct {
			RegistryType, Identifier string
			EnvironmentVariables     []struct{ Name string }
		}
	}
	readJSON(t, "server.json", &server)
	var manifest struct {
		Version string
		Server  struct {
			MCPConfig struct{ Env map[string]string } `json:"mcp_config"`
		}
		Tools      []struct{ Name string }
		UserConfig map[string]struct {
			Type      string
			Sensitive bool
		} `json:"user_config"`
	}
	readJSON(t, "packaging/mcpb/manifest.json", &manifest)

	dockerfile, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	if label := regexp.MustCompile(`io\.modelcontextprotocol\.server\.name="([^"]+)"`).FindSubmatch(dockerfile); label == nil || string(label[1]) != server.Name {
		t.Errorf("the image's label does not name %s", server.Name)
	}
	if manifest.Version != server.Version {
		t.Errorf("manifest version %s, server.json %s", manifest.Version, server.Version)
	}
	known := map[string]bool{}
	for _, s := range settings {
		known[s.env] = true
	}
	for _, p := range server.Packages {
		for _, e := range p.EnvironmentVariables {
			if !known[e.Name] {
				t.Errorf("server.json %s package sets %s, which the program does not read", p.RegistryType, e.Name)
			}
		}
		if p.RegistryType == "oci" && !strings.HasSuffix(p.Identifier, ":"+server.Version) {
			t.Errorf("image %s is not tagged %s", p.Identifier, server.Version)
		}
	}
	for name, v := range manifest.Server.MCPConfig.Env {
		if !known[name] {
			t.Errorf("the bundle sets %s, which the program does not read", name)
		}
		if m := regexp.MustCompile(`^\$\{user_config\.(\w+)\}$`).FindStringSubmatch(v); m == nil || manifest.UserConfig[m[1]].Type == "" {
			t.Errorf("the bundle's %s = %s names no user_config entry", name, v)
		}
	}
	if k := manifest.UserConfig["api_key"]; !k.Sensitive || manifest.Server.MCPConfig.Env["TOGETHER_API_KEY"] != "${user_config.api_key}" {
		t.Error("the bundle's API key is not a sensitive user_config entry")
	}
	var listed []string
	for _, tool := range manifest.Tools {
		listed = append(listed, tool.Name)
	}
	want := slices.DeleteFunc(slices.Clone(tools.AllTools), func(n string) bool { return slices.Contains(tools.EnvFileTools, n) })
	if !slices.Equal(listed, want) {
		t.Errorf("the bundle lists tools %v, the program offers %v", listed, want)
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// The Kubernetes manifests run HTTP mode the way the README says, with the
// hardening the README promises.
func TestKubernetesManifestsRunHTTPModeHardened(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("deploy/kubernetes/deployment.yaml")
	if err != nil {
		t.Fatal(err)
	}
	d := string(b)
	for _, want := range []string{
		"replicas: 2", "runAsNonRoot: true", "readOnlyRootFilesystem: true", `drop: ["ALL"]`, "allowPrivilegeEscalation: false",
		"path: /readyz", "path: /healthz", "- --http=:8080", "- --behind-tls-proxy", "requests:", "limits:", "- --audit-log=-",
	} {
		if !strings.Contains(d, want) {
			t.Errorf("deployment.yaml lacks %q", want)
		}
	}
	// Every flag it passes is one the program has, and every variable one
	// it reads.
	for _, m := range regexp.MustCompile(`- --([a-z-]+)`).FindAllStringSubmatch(d, -1) {
		if !slices.ContainsFunc(settings, func(s setting) bool { return s.flag == m[1] }) {
			t.Errorf("deployment.yaml passes --%s, which the program does not take", m[1])
		}
	}
	for _, m := range regexp.MustCompile(`name: (TOGETHER_[A-Z_]+)`).FindAllStringSubmatch(d, -1) {
		if !slices.ContainsFunc(settings, func(s setting) bool { return s.env == m[1] }) {
			t.Errorf("deployment.yaml sets %s, which the program does not read", m[1])
		}
	}
	var server struct{ Version string }
	readJSON(t, "server.json", &server)
	if !strings.Contains(d, "together-secrets-mcp:"+server.Version) {
		t.Errorf("deployment.yaml does not run version %s", server.Version)
	}
	for _, f := range []string{"service.yaml", "hpa.yaml", "pdb.yaml", "kustomization.yaml"} {
		if _, err := os.Stat("deploy/kubernetes/" + f); err != nil {
			t.Error(err)
		}
	}
}

func TestKubernetesManifestsServeTheValuePageWithALinkKeyEveryReplicaShares(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("deploy/kubernetes/deployment.yaml")
	if err != nil {
		t.Fatal(err)
	}
	d := string(b)
	var args []string
	for _, m := range regexp.MustCompile(`(?m)^\s+- (--\S+)$`).FindAllStringSubmatch(d, -1) {
		args = append(args, m[1])
	}
	cfg, err := parseConfig(args, func(string) string { return "" })
	if err != nil {
		t.Fatalf("the container's arguments %q: %v", args, err)
	}
	if !strings.HasPrefix(cfg.publicURL, "https://") || cfg.linkKeyFile == "" || !cfg.tools.Intake {
		t.Fatalf("the manifests serve no value page with a link key file: %q", args)
	}
	dir := path.Dir(cfg.linkKeyFile)
	for _, want := range []string{"mountPath: " + dir, "secretName: together-secrets-mcp-link-key", "fsGroup: 65532", "readOnly: true",
		"kubectl create secret generic together-secrets-mcp-link-key"} {
		if !strings.Contains(d, want) {
			t.Errorf("deployment.yaml lacks %q", want)
		}
	}
}

func TestKubernetesManifestsLoseNoCallInARollingUpdate(t *testing.T) {
	t.Parallel()
	read := func(f string) string {
		b, err := os.ReadFile("deploy/kubernetes/" + f)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	d, pdb, kust := read("deployment.yaml"), read("pdb.yaml"), read("kustomization.yaml")
	for _, want := range []string{"maxUnavailable: 0", "maxSurge: 1", "topologySpreadConstraints:", "topologyKey: kubernetes.io/hostname"} {
		if !strings.Contains(d, want) {
			t.Errorf("deployment.yaml lacks %q", want)
		}
	}
	if !strings.Contains(pdb, "kind: PodDisruptionBudget") || !strings.Contains(pdb, "maxUnavailable: 1") {
		t.Errorf("pdb.yaml does not keep all but one replica up:\n%s", pdb)
	}
	for _, f := range []string{"deployment.yaml", "service.yaml", "hpa.yaml", "pdb.yaml"} {
		if !strings.Contains(kust, "- "+f) {
			t.Errorf("kustomization.yaml does not apply %s", f)
		}
	}
	// The grace period covers the delay, the longest call and a margin.
	m := regexp.MustCompile(`- --shutdown-delay=(\S+)`).FindStringSubmatch(d)
	g := regexp.MustCompile(`terminationGracePeriodSeconds: (\d+)`).FindStringSubmatch(d)
	if m == nil || g == nil {
		t.Fatalf("deployment.yaml sets no shutdown delay or grace period")
	}
	cfg, err := parseConfig([]string{"--http", ":8080", "--behind-tls-proxy", "--shutdown-delay", m[1]}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	grace, _ := strconv.Atoi(g[1])
	if need := cfg.http.shutdownDelay + cfg.timeout + 5*time.Second; time.Duration(grace)*time.Second < need {
		t.Errorf("terminationGracePeriodSeconds %d is less than the delay, the call timeout and a margin: %s", grace, need)
	}
	if cfg.http.shutdownDelay < time.Second {
		t.Errorf("a shutdown delay of %s is shorter than endpoints take to forget a pod", cfg.http.shutdownDelay)
	}
}
