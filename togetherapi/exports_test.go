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
const maxExports = 115

// face is the exported names at the last count, for a failure to name
// what was added since.
var face = []string{
	"APIError", "APIError.Error", "APIError.Is", "CallInfo", "CallInfoFrom", "ChangeHooks", "CheckBaseURL",
	"Client", "Client.AttachSecretOf", "Client.BaseURL", "Client.CloseIdleConnections", "Client.CreateSecret",
	"Client.DeleteSecretOf", "Client.DetachSecret", "Client.GetSecret", "Client.HasKey", "Client.KeyScrubber",
	"Client.ListDeployments", "Client.ListSecrets", "Client.UpdateSecret", "Client.UpdateSecretOf",
	"Client.WithAPIKey", "Config", "ConfigError", "ConfigError.Error", "CreateSecretRequest",
	"CreateSecretRequest.Validate", "DefaultBaseURL", "DefaultMaxRetries", "DefaultTimeout", "Deployment",
	"Deployment.References", "DescriptionMaxLength", "Effect", "EffectOf", "ErrAlreadyExists",
	"ErrDeploymentChanged", "ErrForbidden", "ErrNoAPIKey", "ErrNoChange", "ErrNotFound", "ErrPlainVariable",
	"ErrRateLimited", "ErrRedirect", "ErrServer", "ErrUnauthorized", "ErrValueInField", "FieldError",
	"FieldError.Error", "FieldError.Unwrap", "IsShapedField", "LookupError", "LookupError.Error",
	"LookupError.Unwrap", "Loss", "Made", "MalformedError", "MalformedError.Error", "MayHaveBeenMade",
	"MinSubstringLen", "NameMaxLength", "NamePattern", "New", "NewSensitive", "NotMade", "OutcomeUnknownError",
	"OutcomeUnknownError.Error", "OutcomeUnknownError.Unwrap", "ReadBackError", "ReadBackError.Error",
	"ReadBackError.Unwrap", "Redacted", "Reference", "RetryAfterCap", "RetryEvent", "Scrubber",
	"Scrubber.Bounded", "Scrubber.Carries", "Scrubber.Contained", "Scrubber.Reach", "Scrubber.Scrub", "Secret",
	"Sensitive", "Sensitive.Equal", "Sensitive.Format", "Sensitive.GoString", "Sensitive.IsZero",
	"Sensitive.LogValue", "Sensitive.MAC", "Sensitive.MarshalJSON", "Sensitive.MarshalText", "Sensitive.String",
	"TimeoutError", "TimeoutError.Error", "TooLargeError", "TooLargeError.Error", "TransportError",
	"TransportError.Error", "TransportError.Unwrap", "UpdateSecretRequest", "UpdateSecretRequest.Validate",
	"ValidateDeploymentRef", "ValidateDescription", "ValidateName", "ValidateVariableName", "ValueMaxBytes",
	"Variable", "Variable.Format", "Variable.GoString", "Variable.IsPlain", "Variable.String", "VariableChange",
	"VariableNameMaxLength", "VariableNamePattern", "WithCallInfo",
}

func TestTheExportedFaceStaysWithinItsBudget(t *testing.T) {
	t.Parallel()
	names := exportedNames(t)
	t.Logf("%d exported names: %s", len(names), strings.Join(names, " "))
	if len(names) <= maxExports {
		return
	}
	var added []string
	for _, n := range names {
		if !slices.Contains(face, n) {
			added = append(added, n)
		}
	}
	t.Errorf("the package exports %d names, more than its budget of %d; added since the last count: %s.\n"+
		"Unexport what no other package uses, or raise maxExports and record the name in face.",
		len(names), maxExports, strings.Join(added, ", "))
}

// exportedNames lists, sorted, every exported name that go doc -all shows
// for the package: each constant and variable (one by one, also in a
// group), function, type and method, a method as "Type.Method". Run with
// -v, the test prints them.
func exportedNames(t *testing.T) []string {
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
