package togetherapi

import (
	"go/ast"
	"go/doc"
	"go/parser"
	"go/token"
	"os"
	"slices"
	"strings"
	"testing"
)

// maxExports is the most exported names the package may have, counted as
// exportedNames counts them. It is held so that the package grows its face
// only on purpose: whatever no other package uses stays unexported.
const maxExports = 82

// maxDeclarations is the most declaration lines go doc -all may print for
// the package, counted as declarationLines counts them: what
//
//	go doc -all ./togetherapi | grep -cE '^(func |type |var |const )'
//
// prints, a group of constants or variables being one line.
const maxDeclarations = 70

// face is the exported names at the last count, for a failure to name
// what was added since.
var face = []string{
	"APIError", "APIError.Error", "APIError.Is", "CallInfo", "CallInfoFrom", "ChangeError", "ChangeError.Error",
	"ChangeError.Unwrap", "ChangeHooks", "CheckBaseURL", "Client", "Client.AttachSecret", "Client.CreateSecret",
	"Client.DeleteSecretOf", "Client.GetSecret", "Client.KeyScrubber", "Client.ListDeployments",
	"Client.ListSecrets", "Client.UpdateSecret", "Client.UpdateSecretOf", "Client.WithAPIKey", "Config",
	"CreateSecretRequest", "CreateSecretRequest.Validate", "DefaultBaseURL", "DefaultTimeout", "Deployment",
	"DescriptionMaxLength", "Effect", "EffectOf", "ErrAlreadyExists", "ErrDeploymentChanged", "ErrForbidden",
	"ErrNoAPIKey", "ErrNotFound", "ErrPlainVariable", "ErrRateLimited", "ErrRedirect", "ErrServer",
	"ErrUnauthorized", "FieldError", "FieldError.Error", "Made", "MalformedError", "MalformedError.Error",
	"MayHaveBeenMade", "NameMaxLength", "NamePattern", "New", "NewSensitive", "NotMade", "Redacted",
	"RetryAfterCap", "RetryEvent", "Scrubber", "Scrubber.Bounded", "Scrubber.Reach", "Scrubber.Scrub",
	"Scrubber.Withholds", "Secret", "Sensitive", "Sensitive.Format", "Sensitive.IsZero", "Sensitive.MAC",
	"Sensitive.MarshalText", "Sensitive.String", "TransportError", "TransportError.Error",
	"TransportError.Unwrap", "UpdateSecretRequest", "UpdateSecretRequest.Validate", "ValidateDeploymentRef",
	"ValidateDescription", "ValidateName", "ValidateVariableName", "ValueMaxBytes", "Variable", "Variable.Format",
	"VariableChange", "VariableNameMaxLength", "VariableNamePattern", "WithCallInfo",
}

func TestTheExportedFaceStaysWithinItsBudget(t *testing.T) {
	t.Parallel()
	pkg := exportedDoc(t)
	names, lines := exportedNames(pkg), declarationLines(pkg)
	t.Logf("%d exported names in %d declaration lines: %s", len(names), lines, strings.Join(names, " "))
	if len(names) <= maxExports && lines <= maxDeclarations {
		return
	}
	var added []string
	for _, n := range names {
		if !slices.Contains(face, n) {
			added = append(added, n)
		}
	}
	t.Errorf("the package exports %d names in %d declaration lines, more than its budget of %d names in %d lines; added since the last count: %s.\n"+
		"Unexport what no other package uses, or raise the budget and record the name in face.",
		len(names), lines, maxExports, maxDeclarations, strings.Join(added, ", "))
}

// exportedDoc reads the package's documentation as go doc does: its
// exported declarations, from its files but its tests.
func exportedDoc(t *testing.T) *doc.Package {
	t.Helper()
	fset := token.NewFileSet()
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	var files []*ast.File
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, e.Name(), nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	pkg, err := doc.NewFromFiles(fset, files, "github.com/together-secrets-mcp/together-secrets-mcp/togetherapi")
	if err != nil {
		t.Fatal(err)
	}
	return pkg
}

// exportedNames lists, sorted, every exported name that go doc -all shows
// for pkg: each constant and variable (one by one, also in a group),
// function, type and method, a method as "Type.Method". Run with -v, the
// test prints them.
func exportedNames(pkg *doc.Package) []string {
	var names []string
	values := func(vs []*doc.Value) {
		for _, v := range vs {
			names = append(names, v.Names...)
		}
	}
	funcs := func(prefix string, fs []*doc.Func) {
		for _, f := range fs {
			names = append(names, prefix+f.Name)
		}
	}
	values(pkg.Consts)
	values(pkg.Vars)
	funcs("", pkg.Funcs)
	for _, typ := range pkg.Types {
		names = append(names, typ.Name)
		values(typ.Consts)
		values(typ.Vars)
		funcs("", typ.Funcs)
		funcs(typ.Name+".", typ.Methods)
	}
	slices.Sort(names)
	return names
}

// declarationLines counts the lines go doc -all starts with func, type,
// var or const for pkg: one for each function, type and method, and one
// for each declaration of constants or variables, a group included.
func declarationLines(pkg *doc.Package) int {
	n := len(pkg.Consts) + len(pkg.Vars) + len(pkg.Funcs)
	for _, typ := range pkg.Types {
		n += 1 + len(typ.Consts) + len(typ.Vars) + len(typ.Funcs) + len(typ.Methods)
	}
	return n
}
