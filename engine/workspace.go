package engine

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optrefresh"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// EngineTools are the binaries scripts/engine-tools.sh builds: the CLI, the
// Kubernetes provider and the YAML language host (found on PATH by the CLI).
var EngineTools = []string{"pulumi", "pulumi-resource-kubernetes", "pulumi-language-yaml"}

// Passphrase of the test stacks' passphrase secrets provider.
const Passphrase = "engine-test"

// Env is what every workspace of one test shares: the tools, a file
// backend, and the Kubernetes and Helm configuration.
type Env struct {
	// ToolsRoot holds bin/pulumi and bin/pulumi-resource-kubernetes.
	ToolsRoot string
	// Dir holds the backend, Pulumi and Helm homes, and the logs.
	Dir string
	// Kubeconfig is the file the provider reads (KUBECONFIG).
	Kubeconfig string
}

// Backend is the file:// backend URL shared by the stacks of one Env, so
// a StackReference between them resolves.
func (e Env) Backend() string { return "file://" + filepath.Join(e.Dir, "state") }

func (e Env) vars() map[string]string {
	return map[string]string{
		"PULUMI_BACKEND_URL":       e.Backend(),
		"PULUMI_CONFIG_PASSPHRASE": Passphrase,
		"PULUMI_SKIP_UPDATE_CHECK": "true",
		// Plugins come from PATH; nothing is downloaded.
		"PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
		// The file backend writes the whole state after every step and keeps
		// a backup of it per operation; the platform stack's state is about
		// 14 MB (CRD schemas, Helm manifests), so that was most of an up's
		// time here. The engine still writes, and checks the integrity of,
		// the state at the end of every operation (pkg/v3 backend/snapshot.go
		// unsafeServiceLoop -> saveSnapshot), which is all the test reads.
		"PULUMI_SKIP_CHECKPOINTS":                       "true",
		"PULUMI_DIY_BACKEND_DISABLE_CHECKPOINT_BACKUPS": "true",
		"PATH":             filepath.Join(e.ToolsRoot, "bin") + string(os.PathListSeparator) + os.Getenv("PATH"),
		"KUBECONFIG":       e.Kubeconfig,
		"HELM_CACHE_HOME":  filepath.Join(e.Dir, "helm", "cache"),
		"HELM_CONFIG_HOME": filepath.Join(e.Dir, "helm", "config"),
		"HELM_DATA_HOME":   filepath.Join(e.Dir, "helm", "data"),
	}
}

// Project is one stack of a Pulumi project run in-process: the project's
// real Pulumi.yaml and stack file, copied into a directory of their own so
// that the CLI's rewrite of the stack file (it adds the passphrase salt and
// any config set) never touches the repository.
type Project struct {
	Dir   string
	Stack auto.Stack
	// Log receives the CLI's output of every operation.
	Log string
}

// NewProject prepares stack `stack` of the project in srcDir (its
// Pulumi.yaml and Pulumi.<stack>.yaml when there is one) with program as
// the in-process program; with a nil program the CLI runs the project's
// own runtime (a YAML program through pulumi-language-yaml).
func (e Env) NewProject(ctx context.Context, srcDir, stack string, program pulumi.RunFunc) (*Project, error) {
	for _, t := range EngineTools {
		if st, err := os.Stat(filepath.Join(e.ToolsRoot, "bin", t)); err != nil || st.IsDir() {
			return nil, fmt.Errorf("%s is missing from %s: run ./scripts/engine-tools.sh", t, filepath.Join(e.ToolsRoot, "bin"))
		}
	}
	abs, err := filepath.Abs(srcDir)
	if err != nil {
		return nil, err
	}
	name := filepath.Base(abs) + "-" + stack
	dir := filepath.Join(e.Dir, "projects", name)
	for _, d := range []string{dir, filepath.Join(e.Dir, "state")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	for _, f := range []string{"Pulumi.yaml", "Pulumi." + stack + ".yaml"} {
		b, err := os.ReadFile(filepath.Join(srcDir, f))
		if os.IsNotExist(err) && f != "Pulumi.yaml" {
			continue // a stack without a stack file: configuration set by the test only
		}
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			return nil, err
		}
	}
	cmd, err := auto.NewPulumiCommand(&auto.PulumiCommandOptions{Root: e.ToolsRoot})
	if err != nil {
		return nil, err
	}
	opts := []auto.LocalWorkspaceOption{
		auto.WorkDir(dir),
		auto.Pulumi(cmd),
		auto.PulumiHome(filepath.Join(e.Dir, "pulumi-home")),
		auto.EnvVars(e.vars()),
		auto.SecretsProvider("passphrase"),
	}
	if program != nil {
		opts = append(opts, auto.Program(program))
	}
	ws, err := auto.NewLocalWorkspace(ctx, opts...)
	if err != nil {
		return nil, err
	}
	s, err := auto.UpsertStack(ctx, stack, ws)
	if err != nil {
		return nil, err
	}
	return &Project{Dir: dir, Stack: s, Log: filepath.Join(e.Dir, name+".log")}, nil
}

// Set sets a configuration value by path (platform:charts.repository).
func (p *Project) Set(ctx context.Context, key, value string, secret bool) error {
	return p.Stack.SetConfigWithOptions(ctx, key, auto.ConfigValue{Value: value, Secret: secret}, &auto.ConfigOptions{Path: true})
}

// Changes are the steps of one operation other than "same", by resource:
// URN -> operation.
type Changes map[string]apitype.OpType

// Count is the number of changed resources.
func (c Changes) Count() int { return len(c) }

// With returns the URNs whose operation is op, sorted.
func (c Changes) With(op apitype.OpType) []string {
	var out []string
	for urn, o := range c {
		if o == op {
			out = append(out, urn)
		}
	}
	sort.Strings(out)
	return out
}

// collect gathers the steps of an operation from its engine events: the
// resource's final step (ResOutputs for an applied step, ResourcePre in a
// preview).
func collect(ch <-chan events.EngineEvent, into Changes, done chan<- struct{}) {
	for ev := range ch {
		var m *apitype.StepEventMetadata
		switch {
		case ev.ResOutputsEvent != nil:
			m = &ev.ResOutputsEvent.Metadata
		case ev.ResourcePreEvent != nil:
			m = &ev.ResourcePreEvent.Metadata
		default:
			continue
		}
		if m.Op == apitype.OpSame || m.Op == apitype.OpRead {
			continue
		}
		if strings.HasSuffix(m.Type, "pulumi:pulumi:Stack") && m.Op != apitype.OpCreate && m.Op != apitype.OpDelete {
			continue // the stack's outputs, not a resource
		}
		into[m.URN] = m.Op
	}
	close(done)
}

// Up runs `pulumi up` and returns its changes.
func (p *Project) Up(ctx context.Context) (Changes, error) {
	return p.run("up", func(w io.Writer, ch chan<- events.EngineEvent) error {
		_, err := p.Stack.Up(ctx, optup.ProgressStreams(w), optup.ErrorProgressStreams(w), optup.EventStreams(ch), optup.SuppressProgress())
		return err
	})
}

// Preview runs `pulumi preview --diff` and returns the changes it reports.
func (p *Project) Preview(ctx context.Context) (Changes, error) {
	return p.run("preview", func(w io.Writer, ch chan<- events.EngineEvent) error {
		_, err := p.Stack.Preview(ctx, optpreview.ProgressStreams(w), optpreview.ErrorProgressStreams(w), optpreview.EventStreams(ch), optpreview.SuppressProgress(), optpreview.Diff())
		return err
	})
}

// Refresh runs `pulumi refresh` and returns the changes it records.
func (p *Project) Refresh(ctx context.Context) (Changes, error) {
	return p.run("refresh", func(w io.Writer, ch chan<- events.EngineEvent) error {
		_, err := p.Stack.Refresh(ctx, optrefresh.ProgressStreams(w), optrefresh.ErrorProgressStreams(w), optrefresh.EventStreams(ch), optrefresh.SuppressProgress())
		return err
	})
}

// Destroy runs `pulumi destroy` and returns its changes.
func (p *Project) Destroy(ctx context.Context) (Changes, error) {
	return p.run("destroy", func(w io.Writer, ch chan<- events.EngineEvent) error {
		_, err := p.Stack.Destroy(ctx, optdestroy.ProgressStreams(w), optdestroy.ErrorProgressStreams(w), optdestroy.EventStreams(ch), optdestroy.SuppressProgress())
		return err
	})
}

// run runs one operation with the CLI's output appended to the project's
// log and its engine events collected into the returned Changes (the SDK
// closes the event channel when the operation ends).
func (p *Project) run(op string, do func(w io.Writer, ch chan<- events.EngineEvent) error) (Changes, error) {
	f, err := os.OpenFile(p.Log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ch, changes, done := make(chan events.EngineEvent), Changes{}, make(chan struct{})
	go collect(ch, changes, done)
	err = do(f, ch)
	<-done
	return changes, p.wrap(op, err)
}

func (p *Project) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s of stack %s failed (CLI output in %s): %w", op, p.Stack.Name(), p.Log, err)
}

// Tail is the end of the project's CLI log, for a failure message.
func (p *Project) Tail(lines int) string {
	b, _ := os.ReadFile(p.Log)
	all := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}
