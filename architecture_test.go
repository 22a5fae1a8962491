package main

import (
	"bufio"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// importRule is one line of ARCHITECTURE.md's "What may import what": what
// a package may import of this module and of MCP, and who may import it.
type importRule struct {
	// says is the rule in ARCHITECTURE.md's words, which the file must hold
	// as one item of its list.
	says string
	// pkgs are the packages it is for, by their path in this module: "."
	// for the root, and "bench/..." for every package under bench/.
	pkgs []string
	// may is what of this module they may import; anyButTestOnly for any
	// package but those only tests import.
	may []string
	// mcp is what of mcp-go they may import, as "mcp-go/server"; anyMCP for
	// any of it.
	mcp []string
	// importedBy, when not nil, are the only packages whose code (tests
	// aside) may import them; empty for tests alone.
	importedBy []string
}

const (
	anyButTestOnly = "any package of this module but those only tests import"
	anyMCP         = "any of mcp-go"
	mcpModule      = "github.com/mark3labs/mcp-go"
)

// importRules mirror ARCHITECTURE.md's "What may import what", in its order.
// Every package of the module falls under one.
var importRules = []importRule{
	{says: "`togetherapi` imports `internal/netguard` alone, and nothing of MCP.",
		pkgs: []string{"togetherapi"}, may: []string{"internal/netguard"}},
	{says: "`intake` imports `togetherapi`, `internal/linkseal` and `internal/netguard`, and nothing of MCP.",
		pkgs: []string{"intake"}, may: []string{"togetherapi", "internal/linkseal", "internal/netguard"}},
	{says: "`internal/linkseal` imports `togetherapi` alone, and nothing of MCP; only `intake` and the root, which reads the link key file, import it.",
		pkgs: []string{"internal/linkseal"}, may: []string{"togetherapi"}, importedBy: []string{"intake", "."}},
	{says: "`internal/keycommand` and `sandbox` import `togetherapi` alone, and nothing of MCP.",
		pkgs: []string{"internal/keycommand", "sandbox"}, may: []string{"togetherapi"}},
	{says: "`internal/envfile` imports `togetherapi` alone, for the type of a value, and nothing of MCP.",
		pkgs: []string{"internal/envfile"}, may: []string{"togetherapi"}},
	{says: "`tools` imports `togetherapi`, `intake`, `internal/envfile` and `internal/audit`, and of MCP `mcp-go/mcp` and `mcp-go/server`.",
		pkgs: []string{"tools"}, may: []string{"togetherapi", "intake", "internal/envfile", "internal/audit"}, mcp: []string{"mcp-go/mcp", "mcp-go/server"}},
	{says: "`internal/httpserve` imports `tools`, `togetherapi` and `internal/netguard`, and of MCP `mcp-go/server`; the root alone imports it, " +
		"and gives it its settings, the words for them, and the page it mounts beside MCP as an HTTP handler.",
		pkgs: []string{"internal/httpserve"}, may: []string{"tools", "togetherapi", "internal/netguard"}, mcp: []string{"mcp-go/server"}, importedBy: []string{"."}},
	{says: "`internal/linecap` imports nothing of this module, and of MCP `mcp-go/mcp` alone, for its JSON-RPC types.",
		pkgs: []string{"internal/linecap"}, mcp: []string{"mcp-go/mcp"}},
	{says: "`internal/asynclog`, `internal/audit`, `internal/netguard` and `internal/syncio` import nothing of this module and nothing of MCP.",
		pkgs: []string{"internal/asynclog", "internal/audit", "internal/netguard", "internal/syncio"}},
	{says: "`internal/apitest` imports `sandbox`, and of MCP `mcp-go/mcp`, `mcp-go/client` and `mcp-go/client/transport`; only tests import it.",
		pkgs: []string{"internal/apitest"}, may: []string{"sandbox"}, mcp: []string{"mcp-go/mcp", "mcp-go/client", "mcp-go/client/transport"}, importedBy: []string{}},
	{says: "`internal/envfile/envfiletest` imports nothing of this module and nothing of MCP; only tests import it.",
		pkgs: []string{"internal/envfile/envfiletest"}, importedBy: []string{}},
	{says: "The root imports any package of this module but those only tests import, and of MCP `mcp-go/mcp` and `mcp-go/server`.",
		pkgs: []string{"."}, may: []string{anyButTestOnly}, mcp: []string{"mcp-go/mcp", "mcp-go/server"}},
	{says: "The programs under `bench/` and `scripts/` import nothing of this module, and of MCP what they need: they run the binary, as a user would.",
		pkgs: []string{"bench/...", "scripts/..."}, mcp: []string{anyMCP}},
}

// environmentRule is the last line of the list, which
// TestOnlyAProgramReadsTheEnvironment holds.
const environmentRule = "Only a program's `package main` reads or changes the environment: the root, and those under `bench/` and `scripts/`; " +
	"every other package is given what it needs by its caller, but `internal/apitest`, which only tests import, reads `CI` to tell whether a test may skip for want of a tool."

// environmentCalls are the functions of os and syscall that read or change
// the environment.
var environmentCalls = map[string][]string{
	"os":      {"Getenv", "LookupEnv", "Environ", "ExpandEnv", "Setenv", "Unsetenv", "Clearenv"},
	"syscall": {"Getenv", "Environ", "Setenv", "Unsetenv", "Clearenv"},
}

// goPackage is what the non-test files of one directory of the module
// declare and import, whatever their build constraints.
type goPackage struct {
	path    string // in the module, "." for the root
	name    string
	files   []string
	imports map[string][]string // import path -> the files that import it
}

// modulePackages parses every package of this module, leaving out modules
// of their own nested in it (bench/gosdk, scripts/interop) and testdata.
func modulePackages(t *testing.T) (module string, pkgs []*goPackage) {
	t.Helper()
	mod, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^module\s+(\S+)`).FindSubmatch(mod)
	if m == nil {
		t.Fatal("go.mod names no module")
	}
	module = string(m[1])
	byDir := map[string]*goPackage{}
	fset := token.NewFileSet()
	err = filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || fileExists(filepath.Join(path, "go.mod"))) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		dir := filepath.ToSlash(filepath.Dir(path))
		p := byDir[dir]
		if p == nil {
			p = &goPackage{path: dir, name: f.Name.Name, imports: map[string][]string{}}
			byDir[dir] = p
			pkgs = append(pkgs, p)
		}
		p.files = append(p.files, path)
		for _, spec := range f.Imports {
			ip, _ := strconv.Unquote(spec.Path.Value)
			p.imports[ip] = append(p.imports[ip], path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return module, pkgs
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// ruleOf returns the rule for the package at path, or nil.
func ruleOf(path string) *importRule {
	for i, r := range importRules {
		for _, p := range r.pkgs {
			if p == path || (strings.HasSuffix(p, "/...") && strings.HasPrefix(path+"/", strings.TrimSuffix(p, "..."))) {
				return &importRules[i]
			}
		}
	}
	return nil
}

// allows reports whether the rule lets its packages import ip, a package
// of this module (by its path in it) or of MCP (as "mcp-go/...").
func (r *importRule) allows(ip string) bool {
	if strings.HasPrefix(ip, "mcp-go/") {
		return slices.Contains(r.mcp, anyMCP) || slices.Contains(r.mcp, ip)
	}
	if slices.Contains(r.may, ip) {
		return true
	}
	if !slices.Contains(r.may, anyButTestOnly) {
		return false
	}
	to := ruleOf(ip)
	return to == nil || to.importedBy == nil || len(to.importedBy) > 0
}

func TestImportsFollowTheArchitecture(t *testing.T) {
	t.Parallel()
	module, pkgs := modulePackages(t)
	for _, p := range pkgs {
		from := ruleOf(p.path)
		if from == nil {
			t.Errorf("package %s has no import rule: say in ARCHITECTURE.md's \"What may import what\" what it may import, and add the rule to importRules", p.path)
			continue
		}
		for ip, files := range p.imports {
			var short string
			switch {
			case ip == module:
				short = "."
			case strings.HasPrefix(ip, module+"/"):
				short = strings.TrimPrefix(ip, module+"/")
			case ip == mcpModule || strings.HasPrefix(ip, mcpModule+"/"):
				short = "mcp-go" + strings.TrimPrefix(ip, mcpModule)
			default:
				continue // the standard library and other modules
			}
			if !from.allows(short) {
				t.Errorf("%s imports %s, which ARCHITECTURE.md does not allow: %s", strings.Join(files, ", "), short, from.says)
			}
			if to := ruleOf(short); to != nil && to.importedBy != nil && !slices.Contains(to.importedBy, p.path) {
				t.Errorf("%s imports %s, which ARCHITECTURE.md does not allow: %s", strings.Join(files, ", "), short, to.says)
			}
		}
	}
}

func TestOnlyAProgramReadsTheEnvironment(t *testing.T) {
	t.Parallel()
	_, pkgs := modulePackages(t)
	fset := token.NewFileSet()
	for _, p := range pkgs {
		if p.name == "main" {
			continue
		}
		for _, path := range p.files {
			f, err := parser.ParseFile(fset, path, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			// The names the file gives os and syscall.
			local := map[string]string{}
			for _, spec := range f.Imports {
				ip, _ := strconv.Unquote(spec.Path.Value)
				if _, ok := environmentCalls[ip]; ok {
					name := ip
					if spec.Name != nil {
						name = spec.Name.Name
					}
					local[name] = ip
				}
			}
			// The one read the rule allows: os.Getenv("CI") in the tests' own
			// package.
			allowed := map[token.Pos]bool{}
			ast.Inspect(f, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok || p.path != "internal/apitest" || len(call.Args) != 1 {
					return true
				}
				sel, ok := call.Fun.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				x, isIdent := sel.X.(*ast.Ident)
				arg, lit := call.Args[0].(*ast.BasicLit)
				if isIdent && lit && local[x.Name] == "os" && sel.Sel.Name == "Getenv" && arg.Value == `"CI"` {
					allowed[sel.Pos()] = true
				}
				return true
			})
			ast.Inspect(f, func(n ast.Node) bool {
				sel, ok := n.(*ast.SelectorExpr)
				if !ok || allowed[sel.Pos()] {
					return true
				}
				if x, ok := sel.X.(*ast.Ident); ok && slices.Contains(environmentCalls[local[x.Name]], sel.Sel.Name) {
					t.Errorf("%s uses %s.%s, which ARCHITECTURE.md does not allow: %s", fset.Position(sel.Pos()), local[x.Name], sel.Sel.Name, environmentRule)
				}
				return true
			})
		}
	}
}

func TestTheImportRulesAreArchitecturesWords(t *testing.T) {
	t.Parallel()
	listed := importList(t)
	want := []string{environmentRule}
	for _, r := range importRules {
		want = append(want, r.says)
		if names, named := backquoted(r.says), r.names(); !slices.Equal(names, named) {
			t.Errorf("the rule %q names %q, and its table entry %q", r.says, names, named)
		}
	}
	for _, line := range listed {
		if !slices.Contains(want, line) {
			t.Errorf("ARCHITECTURE.md's \"What may import what\" says %q, which importRules does not hold", line)
		}
	}
	for _, line := range want {
		if !slices.Contains(listed, line) {
			t.Errorf("importRules holds %q, which ARCHITECTURE.md's \"What may import what\" does not say", line)
		}
	}
}

// importList returns the items of the list under ARCHITECTURE.md's "What
// may import what", each on one line.
func importList(t *testing.T) []string {
	t.Helper()
	f, err := os.Open("ARCHITECTURE.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var items []string
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "- **What may import what.**"):
			in = true
		case !in:
		case strings.HasPrefix(line, "  - "):
			items = append(items, strings.TrimPrefix(line, "  - "))
		case strings.HasPrefix(line, "    ") && len(items) > 0:
			items[len(items)-1] += " " + strings.TrimSpace(line)
		case !strings.HasPrefix(line, "  "):
			return items
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if !in {
		t.Fatal(`ARCHITECTURE.md has no "- **What may import what.**" invariant`)
	}
	return items
}

// backquoted returns the names a rule's words put in backquotes, sorted.
func backquoted(says string) []string {
	var names []string
	for _, m := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(says, -1) {
		names = append(names, m[1])
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// names are the names the rule's words must put in backquotes: its
// packages, and what it lets them import.
func (r importRule) names() []string {
	var names []string
	for _, group := range [][]string{r.pkgs, r.may, r.mcp, r.importedBy} {
		for _, n := range group {
			switch {
			case n == "." || n == anyButTestOnly || n == anyMCP:
			case strings.HasSuffix(n, "/..."):
				names = append(names, strings.TrimSuffix(n, "..."))
			default:
				names = append(names, n)
			}
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

func TestArchitectureNamesEveryPackageAndFile(t *testing.T) {
	t.Parallel()
	arch, err := os.ReadFile("ARCHITECTURE.md")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	err = filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(path, ".") && path != "." || strings.HasPrefix(path, "bench/") || strings.HasPrefix(path, "scripts") || strings.Contains(path, "testdata")) {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		dir := filepath.Dir(path)
		if dir == "." || dir == "tools" || dir == "togetherapi" || dir == "intake" || dir == "sandbox" {
			if !strings.Contains(string(arch), "`"+filepath.Base(path)+"`") {
				t.Errorf("ARCHITECTURE.md does not name %s", path)
			}
			return nil
		}
		pkg := strings.TrimSuffix(dir, "/envfiletest")
		if !strings.Contains(string(arch), "`"+pkg) {
			t.Errorf("ARCHITECTURE.md does not name the package %s", dir)
		}
		if !strings.Contains(string(readme), "`"+pkg) {
			t.Errorf("README's layout does not name the package %s", dir)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
