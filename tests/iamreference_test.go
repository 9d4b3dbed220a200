package tests

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cnplatform/platform/bootstrap/backend"
	"github.com/cnplatform/platform/harness"
	"github.com/cnplatform/platform/policy/iamref"
)

// iamDocument is one IAM JSON policy document a resource carries.
type iamDocument struct {
	resource harness.Resource
	field    string // the input path, e.g. assumeRolePolicy
	kind     iamref.Kind
	doc      string
}

// managedARN is one AWS managed policy ARN a resource references.
type managedARN struct {
	resource harness.Resource
	field    string
	arn      string
}

// iamReferences finds every IAM policy document and every AWS managed
// policy ARN in the inputs of every AWS resource: not by a list of types
// and fields we know about, but by walking all inputs, so a new resource
// that carries a policy is checked without anyone adding it here. A string
// input is a policy document when it parses as JSON with a Statement.
func iamReferences(t *testing.T, res *harness.Result) ([]iamDocument, []managedARN) {
	t.Helper()
	var docs []iamDocument
	var arns []managedARN
	for _, r := range res.Resources {
		if !strings.HasPrefix(r.Type, "aws:") || !r.Custom {
			continue
		}
		var walk func(path []string, v resource.PropertyValue)
		walk = func(path []string, v resource.PropertyValue) {
			field := strings.Join(path, ".")
			switch {
			case v.IsSecret():
				walk(path, v.SecretValue().Element)
			case v.IsOutput():
				if !v.OutputValue().Known {
					t.Errorf("%s %s: %s is unknown under the mocks, so it cannot be checked", r.Type, r.Name, field)
					return
				}
				walk(path, v.OutputValue().Element)
			case v.IsComputed():
				t.Errorf("%s %s: %s is computed under the mocks, so it cannot be checked", r.Type, r.Name, field)
			case v.IsObject():
				for k, e := range v.ObjectValue() {
					walk(append(path[:len(path):len(path)], string(k)), e)
				}
			case v.IsArray():
				for i, e := range v.ArrayValue() {
					walk(append(path[:len(path):len(path)], fmt.Sprint(i)), e)
				}
			case v.IsString():
				s := v.StringValue()
				if iamref.IsAWSManagedPolicyARN(s) {
					arns = append(arns, managedARN{r, field, s})
				}
				var probe map[string]json.RawMessage
				if strings.HasPrefix(strings.TrimSpace(s), "{") && json.Unmarshal([]byte(s), &probe) == nil && probe["Statement"] != nil {
					kind := iamref.Resource // bucket, key and queue policies
					switch {
					case path[len(path)-1] == "assumeRolePolicy":
						kind = iamref.Trust
					case strings.HasPrefix(r.Type, "aws:iam/"):
						kind = iamref.Identity
					}
					docs = append(docs, iamDocument{r, field, kind, s})
				}
			}
		}
		walk(nil, resource.NewProperty(r.Inputs))
	}
	return docs, arns
}

// deliberateStarActions are the documents allowed to grant Action "*", each
// with the reason. Every other "*" action fails.
var deliberateStarActions = map[string]string{}

// iamPrograms are the programs whose IAM the reference check covers: every
// stack file of the platform, and the bootstrap program's stack file
// (bootstrap/Pulumi.shared.yaml), run under the same mocks.
func iamPrograms(t *testing.T) map[string]*harness.Result {
	t.Helper()
	out := map[string]*harness.Result{}
	for name, e := range allStacks(t) {
		require.NoError(t, e.err, "stack %s", name)
		out["stack "+name] = e.result
	}
	sf, err := harness.LoadStackFile(filepath.Join(repoRoot, "bootstrap"), "shared")
	require.NoError(t, err)
	res, err := harness.Run("shared", sf.Config, sf.SecretKeys, backend.Run)
	require.NoError(t, err, "bootstrap stack shared")
	out["bootstrap stack shared"] = res
	return out
}

// Issue 19, "Upstream data, not our copies": every IAM policy document the
// program and the bootstrap produce and every AWS managed policy they
// attach, checked against ../shared/reference/aws (the Service
// Authorization Reference and AWS's list of managed policies), not against
// a string copied from our own code.
func TestIAMMatchesTheAWSReference(t *testing.T) {
	ref, err := iamref.Load(iamref.Dir(repoRoot))
	require.NoError(t, err, "the upstream truth is missing; the test cannot pass without it")

	programs := iamPrograms(t)
	names := make([]string, 0, len(programs))
	for n := range programs {
		names = append(names, n)
	}
	sort.Strings(names)
	total := 0
	for _, name := range names {
		res := programs[name]
		t.Run(name, func(t *testing.T) {
			docs, arns := iamReferences(t, res)
			total += len(docs) + len(arns)

			// The walk must find what we know is there: one trust policy
			// per role, one document per inline or customer policy, one
			// ARN per attachment of an AWS managed policy.
			count := func(kind iamref.Kind, typ string) (n int) {
				for _, d := range docs {
					if d.kind == kind && d.resource.Type == typ {
						n++
					}
				}
				return n
			}
			assert.Equal(t, len(res.OfType("aws:iam/role:Role")), count(iamref.Trust, "aws:iam/role:Role"), "a trust policy per role")
			assert.Equal(t, len(res.OfType("aws:iam/rolePolicy:RolePolicy")), count(iamref.Identity, "aws:iam/rolePolicy:RolePolicy"), "a document per inline policy")
			for _, att := range res.OfType("aws:iam/rolePolicyAttachment:RolePolicyAttachment") {
				if iamref.IsAWSManagedPolicyARN(att.String("policyArn")) {
					found := false
					for _, a := range arns {
						found = found || a.resource.URN == att.URN
					}
					assert.True(t, found, "attachment %s not checked", att.Name)
				}
			}

			for _, d := range docs {
				for _, p := range ref.CheckDocument(d.kind, d.doc) {
					id := fmt.Sprintf("%s %s", d.resource.Type, d.resource.Name)
					if p.Rule == iamref.RuleStarAction {
						if _, ok := deliberateStarActions[id]; ok {
							continue
						}
					}
					t.Errorf("%s: %s %s (%s) %s: %s", name, d.resource.Type, d.resource.Name, d.kind, d.field, p)
				}
			}
			for _, a := range arns {
				if err := ref.CheckManagedPolicy(a.arn); err != nil {
					t.Errorf("%s: %s %s %s: %v", name, a.resource.Type, a.resource.Name, a.field, err)
				}
			}
		})
	}
	assert.Positive(t, total, "no IAM policy document or managed policy found in any program")
}
