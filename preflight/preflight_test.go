package preflight_test

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cnplatform/platform/harness/stackrun"
	"github.com/cnplatform/platform/preflight"
	pt "github.com/cnplatform/platform/preflight/preflighttest"
)

var (
	devOnce sync.Once
	devNeed preflight.Need
	devErr  error
)

// dev is what the committed dev stack needs, read as cmd/preflight reads
// it (a copy the case may change).
func dev(t *testing.T) preflight.Need {
	t.Helper()
	devOnce.Do(func() {
		st, err := stackrun.Run("..", "dev")
		if err != nil {
			devErr = err
			return
		}
		devNeed, devErr = preflight.NeedOf(st)
	})
	require.NoError(t, devErr)
	n := devNeed
	n.AdminRoleARNs = append([]string(nil), devNeed.AdminRoleARNs...)
	n.Policies = maps.Clone(devNeed.Policies)
	n.Addons = maps.Clone(devNeed.Addons)
	return n
}

// requireProblems asserts one problem per wanted fragment, in order.
func requireProblems(t *testing.T, r preflight.Report, want ...string) {
	t.Helper()
	var got []string
	for _, p := range r.Problems {
		got = append(got, p.String())
	}
	require.Len(t, got, len(want), "problems:\n%s", strings.Join(got, "\n"))
	for i, w := range want {
		assert.Contains(t, got[i], w, "problem %d", i)
	}
}

func TestNeedOfTheDevStack(t *testing.T) {
	n := dev(t)
	assert.Equal(t, "eu-west-1", n.Region)
	assert.Equal(t, 1, n.ElasticIPs, "dev: one NAT gateway, one Elastic IP")
	assert.Equal(t, 1, n.VPCs)
	assert.Equal(t, map[string]string{"Project": "platform", "Environment": "dev", "ManagedBy": "pulumi"}, n.OwnTags,
		"the stacks' tags (stacks defaults) identify the stack's own addresses and VPCs")
	for arn := range n.Policies {
		assert.True(t, strings.HasPrefix(arn, "arn:aws:iam::aws:policy/"), "%s: only AWS managed policies exist before the update", arn)
	}
	assert.Contains(t, n.Policies, "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy")
	assert.Contains(t, n.Addons, "coredns")
	assert.NotEmpty(t, n.KubernetesVersion)
}

// The preflight against moto (AWS API emulator) for STS, IAM and EC2, with
// recorded responses for what moto does not serve (preflighttest:
// eks:DescribeAddonVersions is a 404 there, and its Service Quotas knows
// only the vpc service code, not ec2's Elastic IP quota).
func TestPreflightAgainstMoto(t *testing.T) {
	moto := pt.StartMoto(t)
	recorded := pt.Endpoints{Moto: moto, EKS: pt.RecordedAddonVersions(t), Quotas: pt.RecordedQuotas(t, moto)}
	own := dev(t).OwnTags
	const ebsV2 = "arn:aws:iam::aws:policy/AmazonEBSCSIDriverPolicyV2"
	pathRole := "arn:aws:iam::" + pt.Account + ":role/ci/platform-deploy-dev"

	// awsError serves one AWS error to every request, in the JSON protocol
	// both EKS (restJson1) and Service Quotas (awsJson1.1) use.
	awsError := func(status int, code string) func(t *testing.T) string {
		return func(t *testing.T) string {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("X-Amzn-Errortype", code)
				w.Header().Set("Content-Type", "application/x-amz-json-1.1")
				w.WriteHeader(status)
				_, _ = w.Write([]byte(`{"__type":"` + code + `","message":"recorded ` + code + `"}`))
			}))
			t.Cleanup(srv.Close)
			return srv.URL
		}
	}

	cases := []struct {
		name     string
		rolePath string
		change   func(n *preflight.Need)
		seed     func(t *testing.T)
		eks      func(t *testing.T) string // default: the recorded DescribeAddonVersions
		quotas   func(t *testing.T) string // default: the recorded ec2 quota, moto for vpc
		want     []string
	}{{
		name:     "a correct configuration passes, the stack's own address and VPC aside",
		rolePath: "/ci/",
		change:   func(n *preflight.Need) { n.AdminRoleARNs = append(n.AdminRoleARNs, pathRole) },
		seed: func(t *testing.T) {
			// 4 addresses of others + dev's own: 4 + 1 <= 5. VPCs: the
			// default, 3 others, dev's own: 4 + 1 <= 5.
			pt.AllocateEIPs(t, moto, 4, nil)
			pt.AllocateEIPs(t, moto, 1, own)
			pt.CreateVPCs(t, moto, 3, map[string]string{"Environment": "staging", "Project": "platform", "ManagedBy": "pulumi"})
			pt.CreateVPCs(t, moto, 1, own)
		},
	}, {
		// The committed adminRoleArns name role/platform-deploy-dev; a role
		// at /ci/ is another ARN, and EKS access entries match it exactly.
		name:     "caller not in adminRoleArns",
		rolePath: "/ci/",
		want: []string{"caller: " + pathRole + " (session arn:aws:sts::" + pt.Account + ":assumed-role/platform-deploy-dev/preflight-test) is not in platform:adminRoleArns" +
			" [arn:aws:iam::111122223333:role/platform-admin arn:aws:iam::111122223333:role/platform-deploy-dev] of stack dev"},
	}, {
		name: "a managed policy ARN that does not exist",
		change: func(n *preflight.Need) {
			n.Policies["arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicyV2"] = n.Policies[ebsV2]
			delete(n.Policies, ebsV2)
		},
		want: []string{"managed policy: arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicyV2 does not exist (iam:GetPolicy: NoSuchEntity), attached by "},
	}, {
		name: "no room for the stack's Elastic IP",
		seed: func(t *testing.T) {
			pt.AllocateEIPs(t, moto, 5, nil)
		},
		want: []string{"EC2-VPC Elastic IPs: stack dev declares 1, 5 others are in use in eu-west-1, quota ec2 L-0263D0A3 is 5: 1 over"},
	}, {
		name: "no room for the stack's VPC",
		seed: func(t *testing.T) {
			pt.CreateVPCs(t, moto, 4, map[string]string{"Environment": "prod"})
		},
		want: []string{"VPCs per Region: stack dev declares 1, 5 others are in use in eu-west-1, quota vpc L-F678F1CE is 5: 1 over"},
	}, {
		name:   "a pinned add-on version not offered for the cluster's Kubernetes version",
		change: func(n *preflight.Need) { n.Addons["kube-proxy"] = "v1.35.3-eksbuild.13" },
		want:   []string{"add-on: kube-proxy v1.35.3-eksbuild.13 is not offered for Kubernetes 1.36 in eu-west-1 (eks:DescribeAddonVersions offers: v1.36.0-eksbuild.14)"},
	}, {
		name: "an add-on EKS does not list for the version",
		change: func(n *preflight.Need) {
			n.Addons["aws-mountpoint-s3-csi-driver"] = "v1.0.0-eksbuild.1"
		},
		want: []string{"add-on: aws-mountpoint-s3-csi-driver v1.0.0-eksbuild.1 is not offered for Kubernetes 1.36 in eu-west-1 (eks:DescribeAddonVersions offers: none)"},
	}, {
		name: "Service Quotas without an applied value: AWS's default counts",
		quotas: func(t *testing.T) string {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				var in struct{ ServiceCode, QuotaCode string }
				_ = json.NewDecoder(r.Body).Decode(&in)
				w.Header().Set("Content-Type", "application/x-amz-json-1.1")
				if r.Header.Get("X-Amz-Target") == "ServiceQuotasV20190624.GetAWSDefaultServiceQuota" && in.ServiceCode == "ec2" && in.QuotaCode == "L-0263D0A3" {
					// GetAWSDefaultServiceQuota has GetServiceQuota's response shape.
					_, _ = w.Write(pt.RecordedElasticIPQuota(t))
					return
				}
				w.WriteHeader(http.StatusBadRequest)
				_, _ = w.Write([]byte(`{"__type":"NoSuchResourceException","message":"The request failed because the specified service doesn't exist."}`))
			}))
			t.Cleanup(srv.Close)
			return srv.URL
		},
		seed: func(t *testing.T) { pt.AllocateEIPs(t, moto, 5, nil) },
		want: []string{
			"EC2-VPC Elastic IPs: stack dev declares 1, 5 others are in use in eu-west-1, quota ec2 L-0263D0A3 is 5: 1 over",
			"VPCs per Region: could not check the quota (service-quotas vpc L-F678F1CE)",
		},
	}, {
		name:   "Service Quotas refusing the call is a problem, not a pass",
		quotas: awsError(http.StatusBadRequest, "AccessDeniedException"),
		want: []string{
			"EC2-VPC Elastic IPs: could not check the quota (service-quotas ec2 L-0263D0A3): ",
			"VPCs per Region: could not check the quota (service-quotas vpc L-F678F1CE): ",
		},
	}, {
		name: "moto's own answers for what it does not serve are problems, not passes",
		eks:  func(t *testing.T) string { return moto },
		quotas: func(t *testing.T) string {
			return moto
		},
		change: func(n *preflight.Need) { n.Addons = map[string]string{"coredns": n.Addons["coredns"]} },
		want: []string{
			"EC2-VPC Elastic IPs: could not check the quota (service-quotas ec2 L-0263D0A3): no applied value",
			"add-on: could not check coredns ",
		},
	}, {
		name:   "EKS refusing the call is a problem, not a pass",
		eks:    awsError(http.StatusForbidden, "AccessDeniedException"),
		change: func(n *preflight.Need) { n.Addons = map[string]string{"coredns": n.Addons["coredns"]} },
		want:   []string{"add-on: could not check coredns "},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pt.ResetMoto(t, moto)
			path := tc.rolePath
			if path == "" {
				path = "/"
			}
			_, session := pt.DeployRole(t, moto, path, "platform-deploy-dev")
			if tc.seed != nil {
				tc.seed(t)
			}
			ep := recorded
			if tc.eks != nil {
				ep.EKS = tc.eks(t)
			}
			if tc.quotas != nil {
				ep.Quotas = tc.quotas(t)
			}
			n := dev(t)
			if tc.change != nil {
				tc.change(&n)
			}
			r := preflight.Check(context.Background(), ep.Clients(session), n)
			requireProblems(t, r, tc.want...)
			if len(tc.want) == 0 {
				assert.Len(t, r.Passed, 5, "caller, policies, Elastic IPs, VPCs, add-ons: %v", r.Passed)
			}
		})
	}
}
