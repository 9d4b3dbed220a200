package backend_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The DIY (S3) backend's object keys for project-scoped stacks, as Pulumi
// v3.274.1 (github.com/pulumi/pulumi/pkg/v3, the CLI the workflows pin)
// forms them in pkg/backend/diy: store.go:122-136 (stacks, history,
// backups), lock.go:166-178 with backend.go:190-195 (locks under the
// fully qualified name organization/<project>/<stack>), meta.go:30.
func checkpointKey(project, stack, ext string) string {
	return path.Join(".pulumi/stacks", project, stack+".json"+ext)
}
func tagsKey(project, stack string) string {
	return path.Join(".pulumi/stacks", project, stack+".pulumi-tags")
}
func lockKey(project, stack string) string {
	return path.Join(".pulumi/locks/organization", project, stack, "6ba7b810-9dad-11d1-80b4-00c04fd430c8.json")
}
func historyKey(project, stack string) string {
	return path.Join(".pulumi/history", project, stack, stack+"-1767225600000000000.checkpoint.json")
}
func backupKey(project, stack string) string {
	return path.Join(".pulumi/backups", project, stack, stack+".1767225600000000000.json")
}

const metaKey = ".pulumi/meta.yaml"

// readOnlyAccessS3 is the S3 part of the AWS managed policy ReadOnlyAccess
// the preview role also holds: "s3:Get*" and "s3:List*" on "*"
// (iann0036/iam-dataset, aws/managedpolicies/ReadOnlyAccess.json).
var readOnlyAccessS3 = evalStatement{Effect: "Allow", Action: []string{"s3:Get*", "s3:List*"}, Resource: []string{"*"}}

// TestPreviewRoleStateAccess evaluates the preview role's recorded inline
// policy, together with ReadOnlyAccess's S3 grant, for the requests a
// preview makes and for what it must never reach: prod's checkpoint, lock,
// history and backups, and the bootstrap's own state. Any branch of the
// repository can assume this role.
func TestPreviewRoleStateAccess(t *testing.T) {
	res := runStackFile(t, nil)
	var doc string
	for _, p := range res.OfType(rolePolicy) {
		if p.String("role") == "platform-preview" {
			doc = p.String("policy")
		}
	}
	require.NotEmpty(t, doc, "the preview role's state policy")
	var parsed struct{ Statement []evalStatement }
	require.NoError(t, json.Unmarshal([]byte(doc), &parsed), doc)
	policies := append(parsed.Statement, readOnlyAccessS3)
	bucket := mockBucketARN(res.OfType(bucketType)[0])
	object := func(key string) string { return bucket + "/" + key }
	prefix := func(p string) *string { return &p }

	const project = "platform" // the repository's Pulumi.yaml; checked below
	type req struct {
		what     string
		action   string
		resource string
		prefix   *string
	}
	allowed := []req{{"the backend's metadata (every login)", "s3:GetObject", object(metaKey), nil}}
	for _, env := range []string{"dev", "staging"} {
		allowed = append(allowed,
			req{env + " checkpoint", "s3:GetObject", object(checkpointKey(project, env, "")), nil},
			req{env + " compressed checkpoint", "s3:GetObject", object(checkpointKey(project, env, ".zst")), nil},
			req{env + " stack tags", "s3:GetObject", object(tagsKey(project, env)), nil},
			req{env + " checkpoint lookup (stack select)", "s3:ListBucket", bucket, prefix(checkpointKey(project, env, ""))},
			req{env + " tags: 404, not 403, when absent", "s3:ListBucket", bucket, prefix(tagsKey(project, env))},
		)
	}
	denied := []req{
		{"prod checkpoint", "s3:GetObject", object(checkpointKey(project, "prod", "")), nil},
		{"prod gzip checkpoint", "s3:GetObject", object(checkpointKey(project, "prod", ".gz")), nil},
		{"prod checkpoint, old version", "s3:GetObjectVersion", object(checkpointKey(project, "prod", "")), nil},
		{"prod checkpoint backup copy", "s3:GetObject", object(checkpointKey(project, "prod", ".bak")), nil},
		{"prod history", "s3:GetObject", object(historyKey(project, "prod")), nil},
		{"prod backup", "s3:GetObject", object(backupKey(project, "prod")), nil},
		{"create prod's lock", "s3:PutObject", object(lockKey(project, "prod")), nil},
		{"delete prod's lock", "s3:DeleteObject", object(lockKey(project, "prod")), nil},
		{"read prod's lock", "s3:GetObject", object(lockKey(project, "prod")), nil},
		{"list prod's locks", "s3:ListBucket", bucket, prefix(path.Dir(lockKey(project, "prod")) + "/")},
		{"find prod's checkpoint", "s3:ListBucket", bucket, prefix(checkpointKey(project, "prod", ""))},
		{"list the whole bucket", "s3:ListBucket", bucket, nil},
		{"list every version", "s3:ListBucketVersions", bucket, nil},
		{"the bootstrap's state", "s3:GetObject", object(checkpointKey("platform-bootstrap", "shared", "")), nil},
		// A preview writes nothing and the DIY backend takes no lock for it
		// (pkg/backend/diy/backend.go:1213-1217): not even dev's.
		{"create dev's lock", "s3:PutObject", object(lockKey(project, "dev")), nil},
		{"overwrite dev's checkpoint", "s3:PutObject", object(checkpointKey(project, "dev", "")), nil},
		{"rewrite the metadata", "s3:PutObject", object(metaKey), nil},
	}
	for _, r := range allowed {
		assert.Equal(t, "allow", decide(policies, r.action, r.resource, r.prefix), "%s: %s %s", r.what, r.action, r.resource)
	}
	for _, r := range denied {
		assert.NotEqual(t, "allow", decide(policies, r.action, r.resource, r.prefix), "%s: %s %s (prefix %v)", r.what, r.action, r.resource, deref(r.prefix))
	}

	sf, err := readProjectName("../..")
	require.NoError(t, err)
	assert.Equal(t, project, sf, "the platform's Pulumi project, whose stacks the preview role reads by default")
}

func deref(p *string) string {
	if p == nil {
		return "<none>"
	}
	return *p
}

// readProjectName is the name in the platform's Pulumi.yaml.
func readProjectName(root string) (string, error) {
	b, err := os.ReadFile(path.Join(root, "Pulumi.yaml"))
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "name:"); ok {
			return strings.TrimSpace(v), nil
		}
	}
	return "", fmt.Errorf("no name in Pulumi.yaml")
}

// evalStatement is an IAM statement as far as decide evaluates it.
type evalStatement struct {
	Effect      string
	Action      stringList
	Resource    stringList
	NotResource stringList
	Condition   map[string]map[string]stringList
}

// stringList reads an IAM value that is a string or a list of strings.
type stringList []string

func (s *stringList) UnmarshalJSON(b []byte) error {
	var one string
	if json.Unmarshal(b, &one) == nil {
		*s = []string{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*s = many
	return nil
}

// decide is IAM's evaluation of identity policies in one account (IAM User
// Guide, "Policy evaluation logic"): an explicit Deny wins, else an Allow,
// else the implicit deny. It knows the wildcards * and ? (in actions,
// case-insensitively, and in resources) and the string condition operators
// on s3:prefix; a negated operator holds when the key is absent from the
// request, a positive one does not ("Condition operators").
func decide(statements []evalStatement, action, resource string, s3Prefix *string) string {
	matches := func(st evalStatement) bool {
		if !anyGlob(st.Action, action, true) {
			return false
		}
		if len(st.NotResource) > 0 {
			if anyGlob(st.NotResource, resource, false) {
				return false
			}
		} else if !anyGlob(st.Resource, resource, false) {
			return false
		}
		for op, keys := range st.Condition {
			for key, values := range keys {
				if key != "s3:prefix" {
					panic("decide knows only s3:prefix, not " + key)
				}
				var holds bool
				switch op {
				case "StringLike", "StringEquals":
					holds = s3Prefix != nil && anyGlob(values, *s3Prefix, false)
				case "StringNotLike", "StringNotEquals":
					holds = s3Prefix == nil || !anyGlob(values, *s3Prefix, false)
				default:
					panic("decide does not know the operator " + op)
				}
				if !holds {
					return false
				}
			}
		}
		return true
	}
	decision := "implicit deny"
	for _, st := range statements {
		if !matches(st) {
			continue
		}
		if st.Effect == "Deny" {
			return "explicit deny"
		}
		decision = "allow"
	}
	return decision
}

func anyGlob(patterns []string, s string, foldCase bool) bool {
	for _, p := range patterns {
		expr := "^" + strings.ReplaceAll(strings.ReplaceAll(regexp.QuoteMeta(p), `\*`, ".*"), `\?`, ".") + "$"
		if foldCase {
			expr = "(?i)" + expr
		}
		if regexp.MustCompile(expr).MatchString(s) {
			return true
		}
	}
	return false
}
