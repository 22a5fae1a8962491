package tools

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"
)

// Selection chooses the tools a server offers. The zero Selection offers
// DefaultTools.
type Selection struct {
	// Names, when set, are exactly the tools offered.
	Names []string
	// AllowDelete adds delete_secret to the default tools. Deleting a secret
	// a deployment uses breaks the deployment, so it is opt-in.
	AllowDelete bool
	// AllowDeploymentChanges adds attach_secret, which changes deployments'
	// variables and so rolls them out again; it is offered only with this.
	AllowDeploymentChanges bool
	// ValuesFromUserOnly leaves out every tool that takes a value as an
	// argument (create_secret), and update_secret's value argument, so that
	// a value reaches the server only from the user: the page and dotenv
	// files.
	ValuesFromUserOnly bool
	// ReadOnly keeps only the tools that change nothing, whatever else is set.
	ReadOnly bool
	// EnvFiles says dotenv files are configured, without which
	// import_env_file has nothing to read and is not offered.
	EnvFiles bool
	// Intake says the one-time value pages are available (over stdio, or
	// over HTTP with a public URL), without which request_secret_from_user
	// is not offered.
	Intake bool
}

// AllTools lists every tool the server can offer; DefaultTools those
// offered unless a Selection says otherwise (EnvFileTools among them only
// when dotenv files are configured); ReadOnlyTools those that change
// nothing. All derive from the tools' own definitions.
var (
	AllTools     = toolNames(func(tool) bool { return true })
	DefaultTools = toolNames(func(x tool) bool { return x.byDefault })
	EnvFileTools = toolNames(func(x tool) bool { return x.needsEnvFiles })
	IntakeTools  = toolNames(func(x tool) bool { return x.needsIntake })
	// DeploymentTools change deployments, and are offered only with
	// Selection.AllowDeploymentChanges.
	DeploymentTools = toolNames(func(x tool) bool { return x.needsDeploymentChanges })
	ReadOnlyTools   = toolNames(func(x tool) bool { return *x.def.Annotations.ReadOnlyHint })
)

func toolNames(keep func(tool) bool) []string {
	var out []string
	for _, x := range (&toolset{}).all() {
		if keep(x) {
			out = append(out, x.def.Name)
		}
	}
	return out
}

// Resolve returns the names of the tools s offers, or an error naming any
// unknown tool and listing the valid ones.
func (s Selection) Resolve() ([]string, error) {
	names := s.Names
	if len(names) == 0 {
		names = slices.Clone(DefaultTools)
		if s.AllowDelete {
			names = append(names, "delete_secret")
		}
		if s.AllowDeploymentChanges {
			names = append(names, DeploymentTools...)
		}
	}
	var out []string
	for _, n := range names {
		if !slices.Contains(AllTools, n) {
			return nil, fmt.Errorf("unknown tool %q; the tools are %s", n, strings.Join(AllTools, ", "))
		}
		if why := s.closed(n); why != "" {
			// Named on purpose, it is a mistake to say at start-up; among
			// the defaults, or under read-only mode, it is just left out.
			if len(s.Names) > 0 && !s.ReadOnly {
				return nil, fmt.Errorf("tool %q %s", n, why)
			}
			continue
		}
		if slices.Contains(out, n) || (s.ReadOnly && !slices.Contains(ReadOnlyTools, n)) {
			continue
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no tool is left to offer: with read-only mode, choose among %s", strings.Join(ReadOnlyTools, ", "))
	}
	return out, nil
}

// closed says why the tool named n cannot be offered as s is set, or ""
// when it can.
func (s Selection) closed(n string) string {
	for _, g := range []struct {
		tools []string
		open  bool
		why   string
	}{
		{EnvFileTools, s.EnvFiles, "reads dotenv files, and none is configured: name at least one env file"},
		{IntakeTools, s.Intake, "needs the one-time value page, which HTTP mode serves only once a public URL is set"},
		{DeploymentTools, s.AllowDeploymentChanges, "changes deployments, and is offered only when deployment changes are allowed"},
		{[]string{"create_secret"}, !s.ValuesFromUserOnly, "takes a value from the chat, which values-from-user-only rules out"},
	} {
		if !g.open && slices.Contains(g.tools, n) {
			return g.why
		}
	}
	return ""
}

// tool pairs a definition with its handler.
type tool struct {
	def mcp.Tool
	// args are the arguments the tool takes as offered, from which def's
	// input schema derives.
	args   params
	handle handlerFunc
	// byDefault says the tool is offered unless a Selection says otherwise.
	byDefault bool
	// needsEnvFiles says the tool is offered only with dotenv files.
	needsEnvFiles bool
	// needsIntake says the tool is offered only with the value pages.
	needsIntake bool
	// needsDeploymentChanges says the tool is offered only when changes to
	// deployments are allowed.
	needsDeploymentChanges bool
}

// handlerFunc is a tool handler: deps are the call's, resolved once by the
// wrapper, with a client unless the tool needs none; it reports on its call
// through rec.
type handlerFunc func(ctx context.Context, deps Deps, req mcp.CallToolRequest, rec *callRecord) *mcp.CallToolResult

// all is the registry: every tool, in the order tools/list gives them.
func (t *toolset) all() []tool {
	return []tool{
		t.createSecret(),
		t.listSecrets(),
		t.getSecret(),
		t.updateSecret(),
		t.deleteSecret(),
		t.importEnvFile(),
		t.requestSecretFromUser(),
		t.attachSecret(),
	}
}

// notOffered answers a call to a tool the selection left out.
func (t *toolset) notOffered(name string) handlerFunc {
	return func(ctx context.Context, _ Deps, _ mcp.CallToolRequest, rec *callRecord) *mcp.CallToolResult {
		rec.outcome = outcomeNotOffered
		sel, adv := t.cfg.Tools, t.advice
		var how string
		switch {
		case sel.ReadOnly && !slices.Contains(ReadOnlyTools, name):
			how = fmt.Sprintf("the server runs read-only (%s), which offers only %s", adv.ReadOnly, strings.Join(ReadOnlyTools, " and "))
		case slices.Contains(IntakeTools, name) && !sel.Intake:
			how = "the one-time value page is served by the stdio server on the user's machine, or over HTTP once the operator sets " + adv.PublicURL
		case name == "create_secret" && sel.ValuesFromUserOnly:
			rec.outcome = outcomeRefusedByPolicy
			t.auditRefusal(ctx, rec, t.entry(ctx, rec, name, "create", ""), "a value was sent as an argument")
			how = fmt.Sprintf("the operator set %s, so a value reaches Together only through request_secret_from_user or import_env_file", adv.ValuesFromUserOnly)
		case slices.Contains(DeploymentTools, name) && !sel.AllowDeploymentChanges:
			how = fmt.Sprintf("it changes deployments, which the server allows only when started with %s", adv.AllowDeploymentChanges)
		case slices.Contains(EnvFileTools, name) && !sel.EnvFiles:
			how = fmt.Sprintf("it reads only dotenv files the user names at start-up, and none is named; start the server with %s", adv.EnvFile)
		case len(sel.Names) > 0:
			how = fmt.Sprintf("it is not among the tools chosen with %s; add it there and restart the server", adv.Tools)
		default:
			how = fmt.Sprintf("start the server with %s to offer it", adv.AllowDelete)
		}
		return mcp.NewToolResultError(fmt.Sprintf("%s is not offered by this server: %s. Nothing was sent to Together.", name, how))
	}
}
