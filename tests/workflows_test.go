package tests

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/cnplatform/platform/harness"
)

// workflow is the part of a GitHub Actions workflow a reviewer checks.
type workflow struct {
	file        string
	text        string
	On          map[string]any            `json:"on"`
	Permissions any                       `json:"permissions"`
	Jobs        map[string]*workflowJob   `json:"jobs"`
	raw         map[string]map[string]any // jobs as parsed, for keys we do not model
}

type workflowJob struct {
	If          string            `json:"if"`
	RunsOn      any               `json:"runs-on"`
	Needs       any               `json:"needs"`
	Environment any               `json:"environment"`
	Permissions map[string]string `json:"permissions"`
	Concurrency struct {
		Group            string `json:"group"`
		CancelInProgress bool   `json:"cancel-in-progress"`
	} `json:"concurrency"`
	Strategy struct {
		Matrix map[string]any `json:"matrix"`
	} `json:"strategy"`
	Steps []workflowStep `json:"steps"`
}

type workflowStep struct {
	Name string            `json:"name"`
	Uses string            `json:"uses"`
	Run  string            `json:"run"`
	With map[string]any    `json:"with"`
	Env  map[string]string `json:"env"`
}

func (j *workflowJob) environment() string {
	switch e := j.Environment.(type) {
	case string:
		return e
	case map[string]any:
		s, _ := e["name"].(string)
		return s
	}
	return ""
}

func (j *workflowJob) needs() []string {
	switch n := j.Needs.(type) {
	case string:
		return []string{n}
	case []any:
		var out []string
		for _, x := range n {
			s, _ := x.(string)
			out = append(out, s)
		}
		return out
	}
	return nil
}

func (j *workflowJob) matrixList(key string) []string {
	list, _ := j.Strategy.Matrix[key].([]any)
	var out []string
	for _, x := range list {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

// stepUsing returns the job's steps that use an action (owner/name).
func (j *workflowJob) stepsUsing(action string) []workflowStep {
	var out []workflowStep
	for _, s := range j.Steps {
		if strings.HasPrefix(s.Uses, action+"@") {
			out = append(out, s)
		}
	}
	return out
}

func (s workflowStep) with(key string) string {
	switch v := s.With[key].(type) {
	case string:
		return v
	case bool:
		if v {
			return "true"
		}
		return "false"
	case nil:
		return ""
	default:
		return strings.TrimSpace(string(mustJSON(v)))
	}
}

func mustJSON(v any) []byte {
	b, err := yaml.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func loadWorkflows(t *testing.T) []*workflow {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(repoRoot, ".github", "workflows", "*.y*ml"))
	require.NoError(t, err)
	require.NotEmpty(t, files, "no workflows")
	var out []*workflow
	for _, f := range files {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		// YAML 1.1 reads a bare `on` key as the boolean true.
		text := regexp.MustCompile(`(?m)^on:`).ReplaceAllString(string(raw), `"on":`)
		w := &workflow{file: filepath.Base(f), text: string(raw)}
		require.NoError(t, yaml.Unmarshal([]byte(text), w), f)
		var jobs struct {
			Jobs map[string]map[string]any `json:"jobs"`
		}
		require.NoError(t, yaml.Unmarshal([]byte(text), &jobs), f)
		w.raw = jobs.Jobs
		out = append(out, w)
	}
	return out
}

// workflowOn returns the one workflow triggered by event.
func workflowOn(t *testing.T, event string) *workflow {
	t.Helper()
	var found []*workflow
	for _, w := range loadWorkflows(t) {
		if _, ok := w.On[event]; ok {
			found = append(found, w)
		}
	}
	require.Len(t, found, 1, "workflows triggered by %s", event)
	return found[0]
}

// readmeTestCommand is the command under the README's "## Test" heading.
func readmeTestCommand(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	require.NoError(t, err)
	m := regexp.MustCompile("(?s)## Test\n+```sh\n([^\n]+)\n```").FindStringSubmatch(string(raw))
	require.NotNil(t, m, "README has a Test section with a sh block")
	return strings.TrimSpace(m[1])
}

// cloudStackFiles lists the stack files of AWS environments (not local).
func cloudStackFiles(t *testing.T) (all, cloud []string) {
	t.Helper()
	names, err := harness.StackNames(repoRoot)
	require.NoError(t, err)
	for _, n := range names {
		sf, err := harness.LoadStackFile(repoRoot, n)
		require.NoError(t, err)
		if sf.Config["platform:environment"] != "local" {
			cloud = append(cloud, n)
		}
	}
	return names, cloud
}

// usesCloud reports whether a job can reach AWS or write to the repository.
func usesCloud(j *workflowJob) bool {
	return j.Permissions["id-token"] == "write" || len(j.stepsUsing("aws-actions/configure-aws-credentials")) > 0 ||
		len(j.stepsUsing("pulumi/actions")) > 0
}

const forkGuard = "github.event.pull_request.head.repo.full_name == github.repository"

func TestPullRequestChecksNeedNoCredentials(t *testing.T) {
	w := workflowOn(t, "pull_request")
	stackFiles, _ := cloudStackFiles(t)
	testCmd := readmeTestCommand(t)

	var ranTests bool
	var strictStacks []string
	for name, j := range w.Jobs {
		if usesCloud(j) || j.If != "" {
			continue // not a fork-safe check
		}
		for _, s := range j.Steps {
			if strings.TrimSpace(s.Run) == testCmd {
				ranTests = true
			}
			if strings.Contains(s.Run, "go run ./cmd/plan") && strings.Contains(s.Run, "-strict") {
				stacks := j.matrixList("stack")
				require.NotEmpty(t, stacks, "job %s: -strict runs over a stack matrix", name)
				assert.Equal(t, "${{ matrix.stack }}", s.Env["STACK"], "job %s plans the matrix stack", name)
				assert.Contains(t, s.Run, `-stack "$STACK"`)
				strictStacks = append(strictStacks, stacks...)
			}
		}
	}
	assert.True(t, ranTests, "a fork-safe job runs the README test command %q", testCmd)
	slices.Sort(strictStacks)
	assert.Equal(t, stackFiles, strictStacks, "cmd/plan -strict runs for every Pulumi.<stack>.yaml")
}

func TestPullRequestPreviewUsesOIDC(t *testing.T) {
	w := workflowOn(t, "pull_request")
	_, cloud := cloudStackFiles(t)
	var previews []string
	for name, j := range w.Jobs {
		for _, s := range j.stepsUsing("pulumi/actions") {
			t.Run(name, func(t *testing.T) {
				assert.Equal(t, "preview", s.with("command"), "pull requests never change a stack")
				assert.Equal(t, forkGuard, j.If, "skipped for forks (no OIDC token there)")
				assert.Equal(t, "true", s.with("comment-on-pr"))
				assert.Equal(t, "false", s.with("refresh"))
				assert.Equal(t, "true", s.with("diff"))
				assert.Equal(t, "${{ matrix.stack }}", s.with("stack-name"))
				assert.Equal(t, "${{ vars.PULUMI_BACKEND_URL }}", s.with("cloud-url"))
				assert.Equal(t, map[string]string{"id-token": "write", "contents": "read", "pull-requests": "write"}, j.Permissions)
				creds := j.stepsUsing("aws-actions/configure-aws-credentials")
				require.Len(t, creds, 1, "AWS access through role assumption")
				assert.Equal(t, "${{ vars.AWS_PREVIEW_ROLE_ARN }}", creds[0].with("role-to-assume"))
				assertBefore(t, j, creds[0].Uses, s.Uses)
				assert.Equal(t, `${{ fromJSON(vars.PREVIEW_RUNS_ON || '"ubuntu-24.04"') }}`, j.RunsOn, "a preview must reach the API endpoint, or Kubernetes resources only warn")
				previews = append(previews, j.matrixList("stack")...)
			})
		}
	}
	slices.Sort(previews)
	// The preview role may decrypt only the bootstrap's previewEnvironments'
	// secrets (bootstrap/backend: every environment but prod by default).
	var previewable []string
	for _, s := range cloud {
		if s != "prod" {
			previewable = append(previewable, s)
		}
	}
	slices.Sort(previewable)
	assert.Equal(t, previewable, previews, "a preview per cloud stack whose secrets the preview role may decrypt: never prod")
	assert.NotContains(t, previews, "prod")
}

func assertBefore(t *testing.T, j *workflowJob, first, then string) {
	t.Helper()
	i := slices.IndexFunc(j.Steps, func(s workflowStep) bool { return s.Uses == first })
	k := slices.IndexFunc(j.Steps, func(s workflowStep) bool { return s.Uses == then })
	assert.Less(t, i, k, "%s runs before %s", first, then)
}

func TestNoLongLivedAWSKeys(t *testing.T) {
	for _, w := range loadWorkflows(t) {
		lower := strings.ToLower(w.text)
		for _, bad := range []string{"aws_access_key_id", "aws_secret_access_key", "aws-access-key-id", "aws-secret-access-key", "aws_session_token", "pulumi_access_token"} {
			assert.False(t, strings.Contains(lower, bad), "%s mentions %s: credentials come from OIDC role assumption only", w.file, bad)
		}
		for name, j := range w.Jobs {
			for _, s := range j.stepsUsing("aws-actions/configure-aws-credentials") {
				assert.NotEmpty(t, s.with("role-to-assume"), "%s/%s", w.file, name)
				assert.Equal(t, "write", j.Permissions["id-token"], "%s/%s: OIDC needs id-token: write", w.file, name)
			}
		}
	}
}

func TestDeployPromotesDevStagingProd(t *testing.T) {
	w := workflowOn(t, "push")
	branches, _ := w.On["push"].(map[string]any)["branches"].([]any)
	assert.Equal(t, []any{"main"}, branches, "deploys on merges to main only")
	_, cloud := cloudStackFiles(t)

	stackOf := map[string]string{} // job -> stack it updates
	for name, j := range w.Jobs {
		ups := j.stepsUsing("pulumi/actions")
		require.Len(t, ups, 1, "job %s", name)
		require.Equal(t, "up", ups[0].with("command"), "job %s", name)
		stack := ups[0].with("stack-name")
		stackOf[name] = stack
		t.Run(stack, func(t *testing.T) {
			assert.Equal(t, stack, j.environment(), "bound to the GitHub environment of its stack (its approval rules and role)")
			assert.Contains(t, j.Concurrency.Group, stack, "one update per stack at a time")
			assert.False(t, j.Concurrency.CancelInProgress, "an update is never cancelled midway")
			assert.Equal(t, map[string]string{"id-token": "write", "contents": "read"}, j.Permissions)
			creds := j.stepsUsing("aws-actions/configure-aws-credentials")
			require.Len(t, creds, 1)
			assert.Equal(t, "${{ vars.AWS_ROLE_ARN }}", creds[0].with("role-to-assume"), "the environment's own role")
			assertBefore(t, j, creds[0].Uses, ups[0].Uses)
			var strict bool
			for _, s := range j.Steps {
				strict = strict || strings.Contains(s.Run, "go run ./cmd/plan -stack "+stack+" -strict -deploy")
			}
			assert.True(t, strict, "the baseline, and no example value, gate the update")
			// The preflight (cmd/preflight) asks the account, with the deploy
			// role's credentials, what would otherwise fail minutes into the
			// update: caller not a cluster admin, a missing managed policy, no
			// quota room, an add-on version not offered (issue 19).
			step := func(match func(workflowStep) bool) int { return slices.IndexFunc(j.Steps, match) }
			preflightAt := step(func(s workflowStep) bool { return strings.TrimSpace(s.Run) == "go run ./cmd/preflight -stack "+stack })
			credsAt := step(func(s workflowStep) bool { return s.Uses == creds[0].Uses })
			upAt := step(func(s workflowStep) bool { return s.Uses == ups[0].Uses })
			if assert.GreaterOrEqual(t, preflightAt, 0, "job %s runs `go run ./cmd/preflight -stack %s`", name, stack) {
				assert.Less(t, credsAt, preflightAt, "job %s: the preflight runs with the deploy role's credentials", name)
				assert.Less(t, preflightAt, upAt, "job %s: the preflight gates pulumi up", name)
			}
			assert.Equal(t, `${{ fromJSON(vars.DEPLOY_RUNS_ON || '"ubuntu-24.04"') }}`, j.RunsOn,
				"the runner must reach the cluster's API endpoint (private or allow-listed): configurable")
		})
	}
	groups := map[string]bool{}
	for _, j := range w.Jobs {
		assert.False(t, groups[j.Concurrency.Group], "concurrency group %s shared by two stacks", j.Concurrency.Group)
		groups[j.Concurrency.Group] = true
	}

	// Walk the needs chain from the job that needs nothing.
	var order []string
	for len(order) < len(w.Jobs) {
		var next []string
		for name, j := range w.Jobs {
			var prev []string
			if len(order) > 0 {
				prev = []string{jobOf(stackOf, order[len(order)-1])}
			}
			if slices.Equal(j.needs(), prev) {
				next = append(next, name)
			}
		}
		require.Len(t, next, 1, "exactly one job follows %v", order)
		order = append(order, stackOf[next[0]])
	}
	assert.Equal(t, []string{"dev", "staging", "prod"}, order)
	slices.Sort(order)
	slices.Sort(cloud)
	assert.Equal(t, cloud, order, "every cloud stack file is deployed")
	prod := w.Jobs[jobOf(stackOf, "prod")]
	assert.Equal(t, "prod", prod.environment(), "prod's manual approval lives on the prod environment")
}

func jobOf(stackOf map[string]string, stack string) string {
	for j, s := range stackOf {
		if s == stack {
			return j
		}
	}
	return ""
}

var (
	shaPin    = regexp.MustCompile(`^[0-9a-f]{40}$`)
	tagPin    = regexp.MustCompile(`^v\d+\.\d+\.\d+$`)
	tagAfter  = regexp.MustCompile(`#\s*v\d+\.\d+\.\d+\s*$`)
	usesLine  = regexp.MustCompile(`(?m)^\s*(?:-\s*)?uses:\s*(\S+)(.*)$`)
	goModPin  = regexp.MustCompile(`(?m)^\s*github\.com/pulumi/pulumi/sdk/v3 v(\S+)`)
	cliInputs = []string{"pulumi-version"}
)

func TestActionsAndPulumiPinned(t *testing.T) {
	goMod, err := os.ReadFile(filepath.Join(repoRoot, "go.mod"))
	require.NoError(t, err)
	m := goModPin.FindSubmatch(goMod)
	require.NotNil(t, m)
	sdkVersion := string(m[1])

	for _, w := range loadWorkflows(t) {
		uses := usesLine.FindAllStringSubmatch(w.text, -1)
		require.NotEmpty(t, uses, w.file)
		for _, u := range uses {
			ref, rest := u[1], u[2]
			if strings.HasPrefix(ref, "./") {
				continue
			}
			_, version, ok := strings.Cut(ref, "@")
			require.True(t, ok, "%s: %s has no version", w.file, ref)
			switch {
			case shaPin.MatchString(version):
				assert.Regexp(t, tagAfter, rest, "%s: %s names its release tag in a comment", w.file, ref)
			case tagPin.MatchString(version):
			default:
				t.Errorf("%s: %s is not pinned to a commit or a full release tag (no @main, @master, @latest, @v4)", w.file, ref)
			}
		}
		for name, j := range w.Jobs {
			for _, s := range j.stepsUsing("pulumi/actions") {
				for _, in := range cliInputs {
					assert.Equal(t, sdkVersion, s.with(in), "%s/%s: the Pulumi CLI matches the SDK in go.mod", w.file, name)
				}
			}
		}
	}
}

func TestWorkflowPermissionsMinimal(t *testing.T) {
	for _, w := range loadWorkflows(t) {
		assert.Equal(t, map[string]any{}, w.Permissions, "%s: the workflow grants nothing by default", w.file)
		for name, j := range w.Jobs {
			_, set := w.raw[name]["permissions"]
			assert.True(t, set, "%s/%s sets its own permissions", w.file, name)
			for scope, level := range j.Permissions {
				if level == "write" {
					assert.Contains(t, []string{"id-token", "pull-requests"}, scope, "%s/%s: write access to %s", w.file, name, scope)
				}
			}
			if j.Permissions["pull-requests"] == "write" {
				var comments bool
				for _, s := range j.stepsUsing("pulumi/actions") {
					comments = comments || s.with("comment-on-pr") == "true"
				}
				assert.True(t, comments, "%s/%s: pull-requests: write only for the preview comment", w.file, name)
			}
		}
	}
}
