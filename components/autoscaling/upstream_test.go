package autoscaling_test

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cnplatform/platform/components/autoscaling"
	"github.com/cnplatform/platform/components/cluster"
	"github.com/cnplatform/platform/policy/iamref"
)

// upstreamTag is the karpenter-provider-aws release the transcriptions in
// this file and in testdata are of; the chart pin must be that release.
const upstreamTag = "v1.14.1"

var testScope = autoscaling.Scope{
	Partition: "aws", Region: "eu-west-1", AccountID: "111122223333", ClusterName: "platform-prod",
	NodeRoleARN: "arn:aws:iam::111122223333:role/autoscaling-node-1234567",
	QueueARN:    "arn:aws:sqs:eu-west-1:111122223333:platform-prod",
}

func TestTranscriptionIsForThePin(t *testing.T) {
	assert.Equal(t, strings.TrimPrefix(upstreamTag, "v"), autoscaling.Chart.Version,
		"the chart pin moved: transcribe the new release's reference policy, queue and rules (components/autoscaling/testdata, this file)")
	assert.Equal(t, autoscaling.Chart.Version, autoscaling.CRDChart.Version, "karpenter-crd at the controller's version")
}

// upstreamStatement is one statement in a comparable form: actions and
// resources sorted, every condition value a sorted list.
type upstreamStatement struct {
	Effect     string
	Actions    []string
	Resources  []string
	Principal  any
	Conditions map[string]map[string][]string
}

func normalize(t *testing.T, raw map[string]any) upstreamStatement {
	t.Helper()
	list := func(v any) []string {
		switch x := v.(type) {
		case nil:
			return nil
		case string:
			return []string{x}
		case []any:
			var out []string
			for _, e := range x {
				out = append(out, e.(string))
			}
			sort.Strings(out)
			return out
		}
		t.Fatalf("not a string or a list: %#v", v)
		return nil
	}
	s := upstreamStatement{Effect: raw["Effect"].(string), Actions: list(raw["Action"]), Resources: list(raw["Resource"]), Principal: raw["Principal"]}
	if c, ok := raw["Condition"].(map[string]any); ok {
		s.Conditions = map[string]map[string][]string{}
		for op, keys := range c {
			s.Conditions[op] = map[string][]string{}
			for k, v := range keys.(map[string]any) {
				s.Conditions[op][k] = list(v)
			}
		}
	}
	return s
}

// bySid reads a policy document's statements by Sid.
func bySid(t *testing.T, doc string) map[string]upstreamStatement {
	t.Helper()
	var d struct{ Statement []map[string]any }
	require.NoError(t, json.Unmarshal([]byte(doc), &d))
	out := map[string]upstreamStatement{}
	for i, raw := range d.Statement {
		id, _ := raw["Sid"].(string)
		require.NotEmpty(t, id, "statement %d has no Sid", i)
		require.NotContains(t, out, id, "two statements %s", id)
		out[id] = normalize(t, raw)
	}
	return out
}

// upstreamControllerPolicy is upstream's six documents, substituted for
// testScope as CloudFormation would (!Sub).
func upstreamControllerPolicy(t *testing.T) map[string]upstreamStatement {
	t.Helper()
	b, err := os.ReadFile("testdata/karpenter-" + upstreamTag + "-controller-policies.json")
	require.NoError(t, err)
	text := strings.NewReplacer(
		"${AWS::Partition}", testScope.Partition, "${AWS::Region}", testScope.Region,
		"${AWS::AccountId}", testScope.AccountID, "${ClusterName}", testScope.ClusterName,
		"${KarpenterNodeRole.Arn}", testScope.NodeRoleARN, "${KarpenterInterruptionQueue.Arn}", testScope.QueueARN,
	).Replace(string(b))
	require.NotContains(t, text, "${", "a placeholder the test does not substitute")
	var file struct {
		Policies map[string]json.RawMessage `json:"policies"`
	}
	require.NoError(t, json.Unmarshal([]byte(text), &file))
	require.Len(t, file.Policies, 6)
	out := map[string]upstreamStatement{}
	for name, doc := range file.Policies {
		for sid, s := range bySid(t, string(doc)) {
			require.NotContains(t, out, sid, "%s: Sid %s twice", name, sid)
			out[sid] = s
		}
	}
	return out
}

// differences lists every statement of want that got lacks or has
// otherwise, and every statement got has beyond want, by Sid.
func differences(want, got map[string]upstreamStatement) []string {
	var out []string
	for sid, w := range want {
		g, ok := got[sid]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("%s: missing", sid))
		case fmt.Sprintf("%+v", w) != fmt.Sprintf("%+v", g):
			out = append(out, fmt.Sprintf("%s:\n  upstream %+v\n  ours     %+v", sid, w, g))
		}
	}
	for sid := range got {
		if _, ok := want[sid]; !ok {
			out = append(out, fmt.Sprintf("%s: not upstream's", sid))
		}
	}
	sort.Strings(out)
	return out
}

// The controller's policy grants exactly what upstream's reference policy
// for the pinned release grants: every statement, action, resource and
// condition, compared by Sid.
func TestControllerPolicyIsUpstreams(t *testing.T) {
	upstream := upstreamControllerPolicy(t)
	require.Len(t, upstream, 18)
	ours := autoscaling.ControllerPolicy(testScope).JSON()
	assert.Empty(t, differences(upstream, bySid(t, ours)))

	// And every action, condition key and resource exists in AWS's service
	// reference (../shared/reference/aws), not only in upstream's file.
	ref, err := iamref.Load(iamref.Dir("../.."))
	require.NoError(t, err)
	assert.Empty(t, ref.CheckDocument(iamref.Identity, ours))
	assert.LessOrEqual(t, len(strings.Join(strings.Fields(ours), "")), 10240, "a role's inline policies hold 10,240 characters")
}

// The comparison sees a change: a statement widened, one dropped, one
// added.
func TestUpstreamComparisonCatchesDifferences(t *testing.T) {
	upstream := upstreamControllerPolicy(t)
	changed := map[string]upstreamStatement{}
	for sid, s := range upstream {
		changed[sid] = s
	}
	w := changed["AllowScopedDeletion"]
	w.Conditions = nil
	changed["AllowScopedDeletion"] = w
	delete(changed, "AllowPricingReadActions")
	changed["AllowEverything"] = upstreamStatement{Effect: "Allow", Actions: []string{"*"}, Resources: []string{"*"}}
	diffs := differences(upstream, changed)
	require.Len(t, diffs, 3)
	assert.Contains(t, diffs[0], "AllowEverything: not upstream's")
	assert.Contains(t, diffs[1], "AllowPricingReadActions: missing")
	assert.Contains(t, diffs[2], "AllowScopedDeletion:")
}

// upstreamQueuePolicy is the template's KarpenterInterruptionQueuePolicy
// (same file and commit as testdata): Principal "*" is written {"AWS": "*"}
// here, which IAM reads the same ("IAM JSON policy elements: Principal",
// anonymous access).
const upstreamQueuePolicy = `{
  "Id": "EC2InterruptionPolicy",
  "Statement": [
    {"Sid": "AllowEventBridge", "Effect": "Allow", "Principal": {"Service": ["events.amazonaws.com", "sqs.amazonaws.com"]},
     "Action": "sqs:SendMessage", "Resource": "QUEUE"},
    {"Sid": "DenyHTTP", "Effect": "Deny", "Action": "sqs:*", "Resource": "QUEUE",
     "Condition": {"Bool": {"aws:SecureTransport": false}}, "Principal": {"AWS": "*"}}
  ]
}`

func TestQueuePolicyIsUpstreams(t *testing.T) {
	ours := autoscaling.QueuePolicy(testScope.QueueARN).JSON()
	var doc struct {
		ID        string `json:"Id"`
		Statement []map[string]any
	}
	require.NoError(t, json.Unmarshal([]byte(ours), &doc))
	assert.Equal(t, "EC2InterruptionPolicy", doc.ID)
	doc.Statement[0]["Sid"] = "AllowEventBridge" // upstream's first statement has no Sid
	named, err := json.Marshal(map[string]any{"Statement": doc.Statement})
	require.NoError(t, err)
	upstream := strings.ReplaceAll(upstreamQueuePolicy, `"QUEUE"`, fmt.Sprintf("%q", testScope.QueueARN))
	upstream = strings.ReplaceAll(upstream, `false}`, `"false"}`) // the JSON of a condition value is a string
	assert.Empty(t, differences(bySid(t, upstream), bySid(t, string(named))))

	ref, err := iamref.Load(iamref.Dir("../.."))
	require.NoError(t, err)
	assert.Empty(t, ref.CheckDocument(iamref.Resource, ours))
}

// upstreamRules are the template's five AWS::Events::Rule resources:
// their EventPattern, each with one source and one detail-type.
var upstreamRules = map[string][2]string{
	"ScheduledChangeRule":                 {"aws.health", "AWS Health Event"},
	"SpotInterruptionRule":                {"aws.ec2", "EC2 Spot Instance Interruption Warning"},
	"RebalanceRule":                       {"aws.ec2", "EC2 Instance Rebalance Recommendation"},
	"InstanceStateChangeRule":             {"aws.ec2", "EC2 Instance State-change Notification"},
	"CapacityReservationInterruptionRule": {"aws.ec2", "EC2 Capacity Reservation Instance Interruption Warning"},
}

func TestInterruptionRulesAreUpstreams(t *testing.T) {
	got := map[string][2]string{}
	for _, r := range autoscaling.InterruptionRules {
		var p struct {
			Source     []string `json:"source"`
			DetailType []string `json:"detail-type"`
		}
		require.NoError(t, json.Unmarshal([]byte(r.EventPattern()), &p), r.Name)
		require.Len(t, p.Source, 1)
		require.Len(t, p.DetailType, 1)
		got[r.Name+"Rule"] = [2]string{p.Source[0], p.DetailType[0]}
	}
	assert.Equal(t, upstreamRules, got)
}

// upstreamNodePolicies are the template's KarpenterNodeRole
// ManagedPolicyArns; nodeRoleNarrowings are the ones our nodes do without.
var (
	upstreamNodePolicies = []string{
		"arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
		"arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
		"arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly",
		"arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
	}
	nodeRoleNarrowings = map[string]string{
		"arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy": "the VPC CNI's aws-node service account has its own role (IRSA), " +
			"as on the managed node groups: no pod on the node can use the node's credentials to change its network interfaces",
		"arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore": "no shell on nodes (security baseline: no SSH, no SSM " +
			"session), as on the managed node groups; Karpenter itself does not use SSM on the node",
	}
)

func TestNodeRolePoliciesAreUpstreamsLessTheDocumentedOnes(t *testing.T) {
	var want []string
	for _, p := range upstreamNodePolicies {
		if _, narrowed := nodeRoleNarrowings[p]; !narrowed {
			want = append(want, p)
		}
	}
	got := slices.Clone(cluster.NodeRoleManagedPolicies)
	slices.Sort(got)
	slices.Sort(want)
	assert.Equal(t, want, got)
	ref, err := iamref.Load(iamref.Dir("../.."))
	require.NoError(t, err)
	for _, p := range upstreamNodePolicies {
		assert.NoError(t, ref.CheckManagedPolicy(p))
	}
}
