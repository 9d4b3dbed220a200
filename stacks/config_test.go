package stacks

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// validProd is a complete, valid prod configuration; each bad case below
// changes one thing in it.
func validProd() MapSource {
	return MapSource{
		"aws:region":                    "eu-west-1",
		"platform:environment":          "prod",
		"platform:availabilityZones":    `["eu-west-1a","eu-west-1b","eu-west-1c"]`,
		"platform:adminRoleArns":        `["arn:aws:iam::111122223333:role/platform-admin"]`,
		"platform:endpointPublicAccess": "true",
		"platform:publicAccessCidrs":    `["203.0.113.0/24"]`,
		"platform:domain":               "platform.example.com",
	}
}

// with returns base changed: a key set to "<unset>" is removed; a key with
// a path (platform:logging.agent) sets that field of the object key
// (platform:logging), the value read as JSON when it is JSON, as a string
// otherwise, as `pulumi config set --path` does.
func with(base MapSource, changes map[string]string) MapSource {
	out := MapSource{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range changes {
		key, path, nested := strings.Cut(k, ".")
		if !nested {
			if v == "<unset>" {
				delete(out, k)
				continue
			}
			out[k] = v
			continue
		}
		obj := map[string]any{}
		if cur, ok := out[key]; ok {
			if err := json.Unmarshal([]byte(cur), &obj); err != nil {
				panic(fmt.Sprintf("%s is not an object: %s", key, cur))
			}
		}
		setPath(obj, strings.Split(path, "."), v)
		raw, err := json.Marshal(obj)
		if err != nil {
			panic(err)
		}
		out[key] = string(raw)
	}
	return out
}

func setPath(obj map[string]any, path []string, v string) {
	if len(path) > 1 {
		child, _ := obj[path[0]].(map[string]any)
		if child == nil {
			child = map[string]any{}
		}
		setPath(child, path[1:], v)
		obj[path[0]] = child
		return
	}
	if v == "<unset>" {
		delete(obj, path[0])
		return
	}
	var parsed any
	if err := json.Unmarshal([]byte(v), &parsed); err != nil {
		parsed = v
	}
	obj[path[0]] = parsed
}

func TestLoadRejectsBadConfig(t *testing.T) {
	dev := with(validProd(), map[string]string{"platform:environment": "dev"})
	cases := []struct {
		name    string
		src     MapSource
		key     string // the key the message must name
		value   string // the value the message must quote
		allowed string // part of what the message says is allowed
	}{
		{"unknown environment", with(validProd(), map[string]string{"platform:environment": "production"}),
			"platform:environment", `"production"`, "dev, staging, prod, local"},
		{"missing environment", with(validProd(), map[string]string{"platform:environment": "<unset>"}),
			"platform:environment", `""`, "dev, staging, prod, local"},
		{"prod with two AZs", with(validProd(), map[string]string{"platform:availabilityZones": `["eu-west-1a","eu-west-1b"]`}),
			"platform:availabilityZones", "[eu-west-1a, eu-west-1b]", "between 3 and 7"},
		{"dev with one AZ", with(dev, map[string]string{"platform:availabilityZones": `["eu-west-1a"]`}),
			"platform:availabilityZones", "[eu-west-1a]", "between 2 and 7"},
		{"AZ in another region", with(validProd(), map[string]string{"platform:availabilityZones": `["eu-west-1a","eu-west-1b","us-east-1c"]`}),
			"platform:availabilityZones[2]", `"us-east-1c"`, "region eu-west-1"},
		{"AZ listed twice", with(validProd(), map[string]string{"platform:availabilityZones": `["eu-west-1a","eu-west-1b","eu-west-1a"]`}),
			"platform:availabilityZones[2]", `"eu-west-1a"`, "listed twice"},
		{"AZs not a list", with(validProd(), map[string]string{"platform:availabilityZones": `eu-west-1a`}),
			"platform:availabilityZones", `"eu-west-1a"`, "list of availability zone names"},
		{"bad region", with(validProd(), map[string]string{"aws:region": "ireland"}),
			"aws:region", `"ireland"`, "AWS region"},
		{"invalid VPC CIDR", with(validProd(), map[string]string{"platform:vpcCidr": "10.0.0.0/33"}),
			"platform:vpcCidr", `"10.0.0.0/33"`, "between /16 and /22"},
		{"public VPC CIDR", with(validProd(), map[string]string{"platform:vpcCidr": "8.8.0.0/16"}),
			"platform:vpcCidr", `"8.8.0.0/16"`, "private range"},
		{"VPC CIDR with host bits", with(validProd(), map[string]string{"platform:vpcCidr": "10.0.0.1/16"}),
			"platform:vpcCidr", `"10.0.0.1/16"`, "network block"},
		{"overlapping subnets", with(validProd(), map[string]string{
			"platform:privateSubnetCidrs": `["10.0.0.0/19","10.0.32.0/19","10.0.64.0/19"]`,
			"platform:publicSubnetCidrs":  `["10.0.96.0/22","10.0.64.0/22","10.0.104.0/22"]`}),
			"platform:publicSubnetCidrs[1]", `"10.0.64.0/22"`, "overlaps platform:privateSubnetCidrs[2]"},
		{"subnet outside VPC", with(validProd(), map[string]string{
			"platform:privateSubnetCidrs": `["10.0.0.0/19","10.0.32.0/19","10.1.0.0/19"]`,
			"platform:publicSubnetCidrs":  `["10.0.96.0/22","10.0.100.0/22","10.0.104.0/22"]`}),
			"platform:privateSubnetCidrs[2]", `"10.1.0.0/19"`, "inside vpcCidr 10.0.0.0/16"},
		{"subnet count differs from AZs", with(validProd(), map[string]string{
			"platform:privateSubnetCidrs": `["10.0.0.0/19","10.0.32.0/19"]`,
			"platform:publicSubnetCidrs":  `["10.0.96.0/22","10.0.100.0/22","10.0.104.0/22"]`}),
			"platform:privateSubnetCidrs", "[10.0.0.0/19, 10.0.32.0/19]", "one CIDR per availability zone (3)"},
		{"only one subnet tier given", with(validProd(), map[string]string{
			"platform:privateSubnetCidrs": `["10.0.0.0/19","10.0.32.0/19","10.0.64.0/19"]`}),
			"platform:privateSubnetCidrs", "[10.0.0.0/19", "set privateSubnetCidrs and publicSubnetCidrs together"},
		{"single NAT in prod", with(validProd(), map[string]string{"platform:natGateways": "single"}),
			"platform:natGateways", `"single"`, `"perAz"`},
		{"unknown NAT strategy", with(dev, map[string]string{"platform:natGateways": "none"}),
			"platform:natGateways", `"none"`, `"single" or "perAz"`},
		{"unsupported Kubernetes version", with(validProd(), map[string]string{"platform:kubernetesVersion": "1.29"}),
			"platform:kubernetesVersion", `"1.29"`, "1.35, 1.36"},
		{"retention CloudWatch does not accept", with(validProd(), map[string]string{"platform:flowLogRetentionDays": "10"}),
			"platform:flowLogRetentionDays", "10", "CloudWatch Logs retention"},
		{"retention not a number", with(validProd(), map[string]string{"platform:clusterLogRetentionDays": "a year"}),
			"platform:clusterLogRetentionDays", `"a year"`, "whole number"},
		{"public endpoint open to the internet in prod", with(validProd(), map[string]string{"platform:publicAccessCidrs": `["0.0.0.0/0"]`}),
			"platform:publicAccessCidrs[0]", `"0.0.0.0/0"`, "never opens the public API endpoint"},
		{"public endpoint without allow-list", with(validProd(), map[string]string{"platform:publicAccessCidrs": "<unset>"}),
			"platform:publicAccessCidrs", "[]", "list the CIDR blocks"},
		{"allow-list without public endpoint", with(validProd(), map[string]string{"platform:endpointPublicAccess": "false"}),
			"platform:publicAccessCidrs", "[203.0.113.0/24]", "only applies with endpointPublicAccess: true"},
		{"endpoint flag not a bool", with(validProd(), map[string]string{"platform:endpointPublicAccess": "yes please"}),
			"platform:endpointPublicAccess", `"yes please"`, "true or false"},
		{"malformed allow-list CIDR", with(validProd(), map[string]string{"platform:publicAccessCidrs": `["203.0.113.0"]`}),
			"platform:publicAccessCidrs[0]", `"203.0.113.0"`, "IPv4 network block"},
		{"empty admin list in prod", with(validProd(), map[string]string{"platform:adminRoleArns": "<unset>"}),
			"platform:adminRoleArns", "[]", "needs at least the IAM role that runs `pulumi up`"},
		{"empty admin list in dev: the deployer gets no implicit entry", with(validProd(), map[string]string{"platform:environment": "dev", "platform:adminRoleArns": "<unset>"}),
			"platform:adminRoleArns", "[]", "the cluster creator gets no implicit access entry"},
		{"VPC overlapping the service range", with(validProd(), map[string]string{"platform:vpcCidr": "172.20.0.0/16"}),
			"platform:vpcCidr", `"172.20.0.0/16"`, "must not overlap the cluster's Kubernetes service range 172.20.0.0/16"},
		{"admin ARN is a user", with(validProd(), map[string]string{"platform:adminRoleArns": `["arn:aws:iam::111122223333:user/alice"]`}),
			"platform:adminRoleArns[0]", `"arn:aws:iam::111122223333:user/alice"`, "IAM role ARN"},
		{"viewer is also an admin", with(validProd(), map[string]string{"platform:viewerRoleArns": `["arn:aws:iam::111122223333:role/platform-admin"]`}),
			"platform:viewerRoleArns[0]", `"arn:aws:iam::111122223333:role/platform-admin"`, "already listed in platform:adminRoleArns"},
		{"monitoring off in prod", with(validProd(), map[string]string{"platform:monitoring.enabled": "false"}),
			"platform:monitoring.enabled", "false", "prod always runs monitoring"},
		{"logging off in prod", with(validProd(), map[string]string{"platform:logging.enabled": "false"}),
			"platform:logging.enabled", "false", "prod always ships its logs"},
		{"not highly available in prod", with(validProd(), map[string]string{"platform:highAvailability": "false"}),
			"platform:highAvailability", "false", "prod always runs its controllers highly available"},
		{"high availability not a bool", with(dev, map[string]string{"platform:highAvailability": "always"}),
			"platform:highAvailability", `"always"`, "must be true or false"},
		{"node min above max", with(validProd(), map[string]string{"platform:nodes": `{"minSize":4,"desiredSize":4,"maxSize":3}`}),
			"platform:nodes.minSize", "4", "must not exceed maxSize (3)"},
		{"desired outside bounds", with(validProd(), map[string]string{"platform:nodes": `{"minSize":1,"desiredSize":9,"maxSize":3}`}),
			"platform:nodes.desiredSize", "9", "must not exceed maxSize (3)"},
		{"spot in prod", with(validProd(), map[string]string{"platform:nodes": `{"capacityType":"SPOT"}`}),
			"platform:nodes.capacityType", `"SPOT"`, "dev only"},
		{"unknown capacity type", with(dev, map[string]string{"platform:nodes": `{"capacityType":"RESERVED"}`}),
			"platform:nodes.capacityType", `"RESERVED"`, "ON_DEMAND or SPOT"},
		{"malformed instance type", with(validProd(), map[string]string{"platform:nodes": `{"instanceTypes":["m5 large"]}`}),
			"platform:nodes.instanceTypes[0]", `"m5 large"`, "EC2 instance type"},
		{"mixed CPU architectures", with(validProd(), map[string]string{"platform:nodes": `{"instanceTypes":["m5.large","m6g.large"]}`}),
			"platform:nodes.instanceTypes", "[m5.large, m6g.large]", "one CPU architecture"},
		{"unknown node field", with(validProd(), map[string]string{"platform:nodes": `{"minimum":1}`}),
			"platform:nodes", `"{\"minimum\":1}"`, "unknown field"},
		{"bad taint effect", with(validProd(), map[string]string{"platform:nodes": `{"taints":[{"key":"dedicated","effect":"Never"}]}`}),
			"platform:nodes.taints[0]", `"dedicated:Never"`, "NoSchedule, PreferNoSchedule, NoExecute"},
		{"NoSchedule taint on the only node pool", with(validProd(), map[string]string{"platform:nodes": `{"taints":[{"key":"dedicated","value":"infra","effect":"NoSchedule"}]}`}),
			"platform:nodes.taints[0]", `"dedicated=infra:NoSchedule"`, "CoreDNS and the EBS CSI controller"},
		{"NoExecute taint on the only node pool", with(validProd(), map[string]string{"platform:nodes": `{"taints":[{"key":"dedicated","effect":"NoExecute"}]}`}),
			"platform:nodes.taints[0]", `"dedicated:NoExecute"`, "PreferNoSchedule"},
		{"desired below min", with(validProd(), map[string]string{"platform:nodes": `{"minSize":3,"desiredSize":2,"maxSize":4}`}),
			"platform:nodes.minSize", "3", "must not exceed desiredSize (2)"},
		{"desired above max", with(validProd(), map[string]string{"platform:nodes": `{"minSize":1,"desiredSize":5,"maxSize":4}`}),
			"platform:nodes.desiredSize", "5", "must not exceed maxSize (4)"},
		{"disk too small", with(validProd(), map[string]string{"platform:nodes": `{"diskSizeGiB":8}`}),
			"platform:nodes.diskSizeGiB", "8", "between 20 and 16384"},
		{"malformed domain", with(validProd(), map[string]string{"platform:domain": "Example..com"}),
			"platform:domain", `"Example..com"`, "lower-case DNS name"},
		{"single-label domain", with(validProd(), map[string]string{"platform:domain": "localhost"}),
			"platform:domain", `"localhost"`, "at least two labels"},
		{"bad cluster name", with(validProd(), map[string]string{"platform:clusterName": "-platform"}),
			"platform:clusterName", `"-platform"`, "letters, digits"},
		{"cluster name too long for its IAM role names", with(validProd(), map[string]string{"platform:clusterName": "platform-payments-production-eu-west-1-blue"}),
			"platform:clusterName", `"platform-payments-production-eu-west-1-blue"`, "1-40 letters"},
		{"reserved tag key", with(validProd(), map[string]string{"platform:tags": `{"aws:owner":"me"}`}),
			"platform:tags", `"aws:owner"`, "reserved by AWS"},
		{"local without context", MapSource{"platform:environment": "local"},
			"platform:kubeconfigContext", `""`, "required when platform:environment is local"},
	}
	require.GreaterOrEqual(t, len(cases), 20)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Load(tc.src)
			require.Error(t, err)
			assert.Nil(t, cfg, "no configuration may come back with an error")
			var verr *ValidationError
			require.True(t, errors.As(err, &verr), "want a *ValidationError, got %T", err)
			found := false
			for _, p := range verr.Problems {
				if strings.HasPrefix(p, tc.key+": ") && strings.Contains(p, tc.value) && strings.Contains(p, tc.allowed) {
					found = true
				}
			}
			assert.True(t, found, "want a problem naming %s, quoting %s and saying %q; got:\n%s",
				tc.key, tc.value, tc.allowed, err.Error())
		})
	}
}

func TestLoadReportsEveryProblemAtOnce(t *testing.T) {
	src := with(validProd(), map[string]string{
		"platform:availabilityZones": `["eu-west-1a"]`,
		"platform:natGateways":       "single",
		"platform:kubernetesVersion": "1.20",
		"platform:adminRoleArns":     "<unset>",
	})
	_, err := Load(src)
	var verr *ValidationError
	require.ErrorAs(t, err, &verr)
	joined := strings.Join(verr.Problems, "\n")
	for _, key := range []string{"platform:availabilityZones", "platform:natGateways", "platform:kubernetesVersion", "platform:adminRoleArns"} {
		assert.Contains(t, joined, key+":")
	}
	assert.Contains(t, err.Error(), "problems")
}

func TestDefaultsPerEnvironment(t *testing.T) {
	load := func(env string) *Config {
		t.Helper()
		src := with(validProd(), map[string]string{"platform:environment": env})
		cfg, err := Load(src)
		require.NoError(t, err)
		return cfg
	}
	dev, staging, prod := load("dev"), load("staging"), load("prod")

	assert.Equal(t, NatSingle, dev.Network.NatGateways, "dev pays for one NAT gateway")
	assert.Equal(t, NatPerAZ, staging.Network.NatGateways)
	assert.Equal(t, NatPerAZ, prod.Network.NatGateways)

	assert.Equal(t, Spot, dev.Cluster.Nodes.CapacityType, "dev runs on spot")
	assert.Equal(t, OnDemand, staging.Cluster.Nodes.CapacityType)
	assert.Equal(t, OnDemand, prod.Cluster.Nodes.CapacityType)
	assert.GreaterOrEqual(t, prod.Cluster.Nodes.MinSize, 2, "draining one prod node never empties a zone")
	assert.Less(t, staging.Cluster.Nodes.MaxSize, prod.Cluster.Nodes.MaxSize, "staging is smaller than prod")

	assert.Less(t, dev.Cluster.LogRetentionDays, prod.Cluster.LogRetentionDays)
	assert.Less(t, dev.Network.FlowLogRetentionDays, prod.Network.FlowLogRetentionDays)
	assert.True(t, prod.Protect)
	assert.False(t, dev.Protect)
	assert.False(t, staging.Protect)
	assert.Equal(t, "platform-prod", prod.Cluster.Name)
	assert.Equal(t, "prod", prod.Tags["Environment"])
	assert.Len(t, prod.Network.PrivateSubnetCIDRs, 3)
	assert.True(t, prod.HighAvailability, "prod's controllers are highly available")
	assert.True(t, staging.HighAvailability, "staging has prod's shape")
	assert.False(t, dev.HighAvailability, "dev stays cheap")
}

// A local cluster gets prod's shape only when it asks for it: zone spread
// needs nodes labelled with their zone, which a laptop's kind cluster has
// not.
func TestLocalHighAvailabilityIsOptIn(t *testing.T) {
	local := MapSource{"platform:environment": "local", "platform:kubeconfigContext": "kind-platform"}
	cfg, err := Load(with(local, nil))
	require.NoError(t, err)
	assert.False(t, cfg.HighAvailability)
	assert.False(t, MonitoringArgs(cfg).ZoneSpread, "no zone spread on a cluster whose nodes may carry no zone")
	cfg, err = Load(with(local, map[string]string{"platform:highAvailability": "true"}))
	require.NoError(t, err)
	assert.True(t, cfg.HighAvailability)
	assert.True(t, MonitoringArgs(cfg).ZoneSpread)
}

func TestUserValuesWinOverDefaults(t *testing.T) {
	cfg, err := Load(with(validProd(), map[string]string{
		"platform:environment": "dev",
		"platform:natGateways": "perAz",
		"platform:nodes":       `{"instanceTypes":["m6g.large","c7g.large"],"capacityType":"ON_DEMAND","minSize":2,"maxSize":4}`,
		"platform:tags":        `{"CostCenter":"1234"}`,
	}))
	require.NoError(t, err)
	assert.Equal(t, NatPerAZ, cfg.Network.NatGateways)
	assert.Equal(t, []string{"m6g.large", "c7g.large"}, cfg.Cluster.Nodes.InstanceTypes)
	assert.Equal(t, 2, cfg.Cluster.Nodes.DesiredSize, "desired defaults to min when only bounds are given")
	assert.Equal(t, "1234", cfg.Tags["CostCenter"])
	assert.Equal(t, "dev", cfg.Tags["Environment"])
}

func TestSplitVPC(t *testing.T) {
	priv, pub, err := SplitVPC("10.30.0.0/16", 3)
	require.NoError(t, err)
	assert.Equal(t, []string{"10.30.0.0/19", "10.30.32.0/19", "10.30.64.0/19"}, priv)
	assert.Equal(t, []string{"10.30.224.0/22", "10.30.228.0/22", "10.30.232.0/22"}, pub)

	_, _, err = SplitVPC("10.0.0.0/24", 3)
	assert.Error(t, err, "too small a VPC cannot be split")
	_, _, err = SplitVPC("10.0.0.0/16", 8)
	assert.Error(t, err)
}

func TestUnknownKeys(t *testing.T) {
	problems := UnknownKeys([]string{"aws:region", "platform:environment", "platform:availabilityZone"})
	require.Len(t, problems, 1)
	assert.Contains(t, problems[0], "platform:availabilityZone: unknown key")
	assert.Contains(t, problems[0], "availabilityZones")
}

func TestSecretsMustBePulumiSecrets(t *testing.T) {
	r := newReader(StaticSource{Values: map[string]string{"platform:a": "hunter2", "platform:b": "hidden"}, SecretKeys: []string{"platform:b"}})
	var a, b, missing Secret
	r.secret("a", &a)
	r.secret("b", &b)
	r.secret("c", &missing)
	require.Len(t, r.problems, 1)
	assert.Contains(t, r.problems[0], "platform:a: a plaintext value is invalid")
	assert.NotContains(t, r.problems[0], "hunter2", "the message never repeats the value")
	assert.False(t, a.IsSet())
	assert.True(t, b.IsSet())
	assert.False(t, missing.IsSet())
	assert.Equal(t, "[secret platform:b]", b.String(), "printing a secret never shows it")
	assert.NotContains(t, fmt.Sprintf("%v %+v %#v", b, b, b), "hidden")
}

func TestKnownKeysAreTheKeysLoadReads(t *testing.T) {
	keys := KnownKeys()
	for _, k := range []string{"environment", "availabilityZones", "nodes", "kubeconfigContext"} {
		assert.Contains(t, keys, k)
	}
}

// Each layer is one object key; a stack file still using an old flat key,
// or a layer key written as a boolean, gets an error naming the new key.
func TestOldLayerKeysNameTheirNewKey(t *testing.T) {
	cases := []struct{ old, value, want string }{
		{"platform:logScaleUrl", "https://cloud.community.humio.com", "set platform:logging.logScaleUrl instead"},
		{"platform:logExcludeNamespaces", `["kube-system"]`, "set platform:logging.excludeNamespaces instead"},
		{"platform:logAgent", "fluentd", "set platform:logging.agent instead"},
		{"platform:prometheus", `{"replicas":2}`, "set platform:monitoring.prometheus instead"},
		{"platform:alertmanager", `{"receivers":["slack"]}`, "set platform:monitoring.alertmanager instead"},
		{"platform:monitoringStorageClass", "gp3", "set platform:monitoring.storageClass instead"},
		{"platform:slo", `{"availability":0.99}`, "set platform:monitoring.slo instead"},
		{"platform:logging", "false", "set platform:logging.enabled: false"},
		{"platform:monitoring", "true", "set platform:monitoring.enabled: true"},
	}
	for _, tc := range cases {
		t.Run(tc.old, func(t *testing.T) {
			_, err := Load(with(validProd(), map[string]string{tc.old: tc.value}))
			var verr *ValidationError
			require.True(t, errors.As(err, &verr), "want a *ValidationError, got %v", err)
			var about []string
			for _, p := range verr.Problems {
				if strings.HasPrefix(p, tc.old+": ") {
					about = append(about, p)
				}
			}
			require.Len(t, about, 1, "one message for the old key; got:\n%s", err)
			assert.Contains(t, about[0], tc.want)
			name := strings.TrimPrefix(tc.old, "platform:")
			if _, moved := movedKeys[name]; moved {
				assert.Len(t, UnknownKeys([]string{tc.old}), 1, "the unknown-key check reports it too")
			} else {
				assert.Empty(t, UnknownKeys([]string{tc.old}), "a layer key is known")
			}
		})
	}
}
