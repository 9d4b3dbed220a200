package autoscaling_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cnplatform/platform/components/autoscaling"
	"github.com/cnplatform/platform/components/policydoc"
	"github.com/cnplatform/platform/preflight/preflighttest"
)

// The interruption path against a real AWS API emulator (moto_server
// 5.2.1): the queue as the component creates it, with its policy; the five
// rules with their patterns and the queue as target; then one event of
// each kind EC2 and AWS Health send (the detail types of the EventBridge
// events reference in the EC2 and AWS Health user guides) must reach the
// queue, and an event Karpenter does not act on must not. The controller's
// policy and the nodes' trust policy must be accepted by IAM's policy
// parser as moto implements it.
func TestInterruptionPathAgainstMoto(t *testing.T) {
	ctx := context.Background()
	endpoint := preflighttest.StartMoto(t)
	cfg := preflighttest.Config(endpoint, preflighttest.Operator)
	sq, eb, im := sqs.NewFromConfig(cfg), eventbridge.NewFromConfig(cfg), iam.NewFromConfig(cfg)

	// The queue, as sqs.Queue in interruptionQueue.
	q, err := sq.CreateQueue(ctx, &sqs.CreateQueueInput{
		QueueName:  aws.String("platform-prod"),
		Attributes: map[string]string{"MessageRetentionPeriod": "300", "SqsManagedSseEnabled": "true"},
	})
	require.NoError(t, err)
	attrs, err := sq.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: q.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll},
	})
	require.NoError(t, err)
	queueARN := attrs.Attributes["QueueArn"]
	assert.Equal(t, "300", attrs.Attributes["MessageRetentionPeriod"])
	assert.Equal(t, "true", attrs.Attributes["SqsManagedSseEnabled"])
	_, err = sq.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{
		QueueUrl: q.QueueUrl, Attributes: map[string]string{"Policy": autoscaling.QueuePolicy(queueARN).JSON()},
	})
	require.NoError(t, err, "the queue policy")

	for _, r := range autoscaling.InterruptionRules {
		name := "autoscaling-" + strings.ToLower(r.Name)
		_, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String(name), EventPattern: aws.String(r.EventPattern())})
		require.NoError(t, err, "rule %s", r.Name)
		out, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String(name), Targets: []ebtypes.Target{
			{Id: aws.String("KarpenterInterruptionQueueTarget"), Arn: aws.String(queueARN)},
		}})
		require.NoError(t, err)
		require.Zero(t, out.FailedEntryCount)
	}

	send := func(source, detailType string) {
		out, err := eb.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
			Source: aws.String(source), DetailType: aws.String(detailType),
			Detail:    aws.String(`{"instance-id":"i-0123456789abcdef0","instance-action":"terminate"}`),
			Resources: []string{"arn:aws:ec2:eu-west-1:" + preflighttest.Account + ":instance/i-0123456789abcdef0"},
		}}})
		require.NoError(t, err)
		require.Zero(t, out.FailedEntryCount, "%s %s", source, detailType)
	}
	kinds := map[string]string{
		"EC2 Spot Instance Interruption Warning":                 "aws.ec2",
		"EC2 Instance Rebalance Recommendation":                  "aws.ec2",
		"EC2 Instance State-change Notification":                 "aws.ec2",
		"EC2 Capacity Reservation Instance Interruption Warning": "aws.ec2",
		"AWS Health Event":                                       "aws.health",
	}
	for detailType, source := range kinds {
		send(source, detailType)
	}
	send("aws.ec2", "EC2 AMI State Change")                  // not one Karpenter acts on
	send("my.app", "EC2 Instance State-change Notification") // not from EC2

	var got []string
	deadline := time.Now().Add(20 * time.Second)
	for len(got) < len(kinds)+2 && time.Now().Before(deadline) {
		msgs, err := sq.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		require.NoError(t, err)
		if len(msgs.Messages) == 0 && len(got) >= len(kinds) {
			break
		}
		for _, m := range msgs.Messages {
			var ev struct {
				Source     string `json:"source"`
				DetailType string `json:"detail-type"`
			}
			require.NoError(t, json.Unmarshal([]byte(aws.ToString(m.Body)), &ev), aws.ToString(m.Body))
			got = append(got, ev.Source+" "+ev.DetailType)
		}
	}
	var want []string
	for detailType, source := range kinds {
		want = append(want, source+" "+detailType)
	}
	sort.Strings(want)
	sort.Strings(got)
	assert.Equal(t, want, got, "each kind of notice reaches the queue once; nothing else does")

	// IAM parses every document the component writes.
	trust := policydoc.ServiceTrust("ec2.amazonaws.com")
	_, err = im.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("autoscaling-node"), AssumeRolePolicyDocument: aws.String(trust)})
	require.NoError(t, err)
	policy := autoscaling.ControllerPolicy(autoscaling.Scope{
		Partition: "aws", Region: preflighttest.Region, AccountID: preflighttest.Account, ClusterName: "platform-prod",
		NodeRoleARN: fmt.Sprintf("arn:aws:iam::%s:role/autoscaling-node", preflighttest.Account), QueueARN: queueARN,
	}).JSON()
	_, err = im.PutRolePolicy(ctx, &iam.PutRolePolicyInput{
		RoleName: aws.String("autoscaling-node"), PolicyName: aws.String("karpenter"), PolicyDocument: aws.String(policy),
	})
	require.NoError(t, err, "the controller's policy")

	// The parser refuses what it should: the check can fail.
	_, err = im.PutRolePolicy(ctx, &iam.PutRolePolicyInput{
		RoleName: aws.String("autoscaling-node"), PolicyName: aws.String("broken"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:RunInstances"}]}`),
	})
	assert.Error(t, err, "a statement without Resource is malformed")
}
