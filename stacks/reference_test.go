package stacks

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cnplatform/platform/components/cluster"
	"github.com/cnplatform/platform/components/logging"
	"github.com/cnplatform/platform/components/monitoring"
	"github.com/cnplatform/platform/components/network"
	"github.com/cnplatform/platform/components/routing"
)

var update = flag.Bool("update", false, "rewrite the generated documentation and golden files instead of comparing")

// The configuration reference in the README and docs is generated from the
// one table of defaults (Defaults), the components' Default constants and
// the chart pins: `go test ./stacks -run TestConfigurationReference -update`
// rewrites what stands between the markers; without -update the test fails
// when the docs drift.
func TestConfigurationReference(t *testing.T) {
	for _, g := range generatedDocs() {
		t.Run(g.file+"#"+g.name, func(t *testing.T) {
			checkGenerated(t, "../"+g.file, g.name, g.text)
		})
	}
}

type generatedDoc struct{ file, name, text string }

func generatedDocs() []generatedDoc {
	return []generatedDoc{
		{"README.md", "foundation-keys", foundationTable()},
		{"README.md", "pinned-charts", chartsList()},
		{"docs/logging.md", "logging-keys", loggingTable()},
		{"docs/monitoring.md", "monitoring-defaults", monitoringTable()},
		{"docs/routing.md", "routing-keys", routingTable()},
		{"docs/monitoring.md", "monitoring-keys", monitoringKeysTable()},
		{"docs/foundation.md", "network-args", networkArgsTable()},
		{"docs/foundation.md", "cluster-args", clusterArgsTable()},
	}
}

func markers(name string) (begin, end string) {
	return "<!-- BEGIN GENERATED " + name + ": go test ./stacks -run TestConfigurationReference -update -->\n",
		"<!-- END GENERATED " + name + " -->"
}

// checkGenerated compares (or with -update rewrites) the text between
// name's markers in path.
func checkGenerated(t *testing.T, path, name, text string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	doc := string(raw)
	begin, end := markers(name)
	i := strings.Index(doc, begin)
	j := strings.Index(doc, end)
	require.True(t, i >= 0 && j > i, "%s: markers of %s missing:\n%s%s", path, name, begin, end)
	current := doc[i+len(begin) : j]
	if *update {
		if current != text {
			require.NoError(t, os.WriteFile(path, []byte(doc[:i+len(begin)]+text+doc[j:]), 0o644))
		}
		return
	}
	require.Equal(t, text, current, "%s drifted from the code: run go test ./stacks -run TestConfigurationReference -update", path)
}

// envs are the columns of a table.
type column struct {
	env Environment
	d   EnvironmentDefaults
}

func columns(envs ...Environment) []column {
	var out []column
	for _, e := range envs {
		out = append(out, column{e, Defaults[e]})
	}
	return out
}

// row is one line of a generated table: a key, its value per column, notes.
type row struct {
	key   string
	value func(c column) string
	notes string
}

func same(v string) func(column) string { return func(column) string { return v } }

// inEnv is there in env's column and elsewhere in the others.
func inEnv(env Environment, there, elsewhere string) func(column) string {
	return func(c column) string {
		if c.env == env {
			return there
		}
		return elsewhere
	}
}

func code(v string) string { return "`" + v + "`" }

func table(header string, cols []column, rows []row) string {
	var b strings.Builder
	b.WriteString("| " + header + " |")
	for _, c := range cols {
		b.WriteString(" " + string(c.env) + " |")
	}
	b.WriteString(" notes |\n|---|")
	for range cols {
		b.WriteString("---|")
	}
	b.WriteString("---|\n")
	for _, r := range rows {
		b.WriteString("| " + r.key + " |")
		for _, c := range cols {
			b.WriteString(" " + r.value(c) + " |")
		}
		b.WriteString(" " + r.notes + " |\n")
	}
	return b.String()
}

func list(v []string) string { return "`[" + strings.Join(v, ", ") + "]`" }

func foundationTable() string {
	sizes := func(c column) string {
		n := c.d.Nodes
		return fmt.Sprintf("%d / %d / %d", n.MinSize, n.DesiredSize, n.MaxSize)
	}
	zones := inEnv(Prod, "required, 3+", "required, 2+")
	nat := func(c column) string {
		if c.env == Prod {
			return code(c.d.NatGateways) + " (required)"
		}
		return code(c.d.NatGateways)
	}
	return table("key", columns(Dev, Staging, Prod), []row{
		{code("aws:region"), same("required"), "e.g. `eu-west-1`; a region of the aws partition (the program writes `arn:aws:` ARNs)"},
		{code("environment"), func(c column) string { return code(string(c.env)) }, "or `local`; required"},
		{code("availabilityZones"), zones, "list, all in the region; no lookup, so previews are deterministic"},
		{code("vpcCidr"), same(code(DefaultVpcCIDR)), "private range, /16 to /22"},
		{"`privateSubnetCidrs` / `publicSubnetCidrs`", same("derived"), "one per AZ, both or neither. Derived: the VPC in eighths, private = first N eighths (/19 of a /16), public = the last eighth in eighths (/22)"},
		{code("natGateways"), nat, ""},
		{code("flowLogRetentionDays"), func(c column) string { return strconv.Itoa(c.d.FlowLogRetentionDays) }, "a CloudWatch retention value"},
		{code("clusterName"), func(c column) string { return code("platform-" + string(c.env)) }, "1-40 characters (IAM role names derive from it)"},
		{code("kubernetesVersion"), same(code(cluster.DefaultKubernetesVersion)), strings.Join(quoted(cluster.SupportedKubernetesVersions()), " or ") + " (EKS standard support)"},
		{code("clusterLogRetentionDays"), func(c column) string { return strconv.Itoa(c.d.ClusterLogRetentionDays) }, "control-plane logs, audit included"},
		{code("endpointPublicAccess"), same("`false`"), "the private endpoint is always on"},
		{code("publicAccessCidrs"), same("-"), "required when the public endpoint is on; `0.0.0.0/0` refused in prod"},
		{code("adminRoleArns"), same("required"), "IAM role ARNs given cluster-admin through access entries; must include the role that runs `pulumi up` (no implicit creator entry)"},
		{code("viewerRoleArns"), same("-"), "IAM role ARNs given read-only access (AmazonEKSViewPolicy), e.g. the CI preview role; never also an admin"},
		{code("nodes.instanceTypes"), func(c column) string { return list(c.d.Nodes.InstanceTypes) }, "one CPU architecture; Graviton types get the arm64 image. One type sits in the launch template, so changing it rolls the nodes; several (spot) sit on the node group, where a change replaces it (refused by `protect` in prod)"},
		{code("nodes.capacityType"), func(c column) string { return code(c.d.Nodes.CapacityType) }, "`SPOT` in dev only"},
		{"`nodes.minSize` / `desiredSize` / `maxSize`", sizes, "per AZ (per node group). No autoscaler runs: `desiredSize` is the node count, between the other two, so raise it with `minSize`; nothing adds nodes after a zone loss"},
		{code("nodes.diskSizeGiB"), same(strconv.Itoa(cluster.DefaultDiskSizeGiB)), "encrypted gp3 root volume"},
		{code("nodes.maxUnavailable"), same(strconv.Itoa(cluster.DefaultMaxUnavailable)), "per node group during updates"},
		{"`nodes.labels` / `nodes.taints`", same("-"), "taints: `{key, value, effect}`, effect `PreferNoSchedule` only: these are the only nodes, and `NoSchedule` or `NoExecute` would keep CoreDNS and the EBS CSI controller off them"},
		{code("highAvailability"), func(c column) string { return code(strconv.FormatBool(c.d.HighAvailability)) }, "controllers with two replicas, PodDisruptionBudgets and zone spread; prod refuses `false`; `local` defaults to `false` and may turn it on on nodes labelled with their zone (docs/operations.md, \"Node rolls\")"},
		{code("domain"), same("-"), "the environment's DNS domain, for routing"},
		{code("tags"), same("-"), "added to every AWS resource, beside `Project`, `Environment`, `ManagedBy`"},
		{code("kubeconfigContext"), same(""), "`local` only, required"},
		{code("kubeconfigPath"), same(""), "`local` only; default `$KUBECONFIG` or `~/.kube/config`"},
	})
}

func quoted(v []string) []string {
	out := make([]string, len(v))
	for i, s := range v {
		out[i] = code(s)
	}
	return out
}

func chartsList() string {
	var b strings.Builder
	b.WriteString("| chart | version | repository |\n|---|---|---|\n")
	for _, c := range PinnedCharts() {
		fmt.Fprintf(&b, "| `%s` | `%s` | %s |\n", c.Name, c.Version, c.Repo)
	}
	return b.String()
}

func loggingTable() string {
	all := columns(Dev, Staging, Prod, Local)
	buffer := func(c column) string {
		return strconv.Itoa(logging.BufferMiBFor(c.d.LogRateKiBPerNode, c.d.LogOutageMinutes))
	}
	exclude := inEnv(Local, "`[local-path-storage]`", "-")
	agents := strings.Join(logging.Agents, " or ")
	return table("key", all, []row{
		{code("enabled"), inEnv(Dev, "on when `logScaleUrl` is set", "same"), "`false` turns the agent off; prod may not"},
		{code("agent"), same(code(logging.DefaultAgent)), agents},
		{code("logScaleUrl"), inEnv(Dev, "required when on", "required"), "https only, base URL, e.g. `https://cloud.community.humio.com`; a port is allowed, a path is not"},
		{code("repository"), inEnv(Dev, "required when on", "required"), "sent as the bulk index; the token decides the repository"},
		{"`platform:logScaleIngestToken` (a key of its own)", inEnv(Dev, "required when on (secret)", "same"), "`pulumi config set --secret platform:logScaleIngestToken <token>`; a plaintext value is refused"},
		{code("rateKiBPerNode"), func(c column) string { return strconv.Itoa(c.d.LogRateKiBPerNode) }, "expected log volume of one node, KiB/s"},
		{code("outageMinutes"), func(c column) string { return strconv.Itoa(c.d.LogOutageMinutes) }, "LogScale outage each node rides out without loss"},
		{code("bufferMiB"), buffer, fmt.Sprintf("default `outageMinutes x 60 x rateKiBPerNode / 1024 x %.1f` MiB, rounded up (a line takes %.1f times its file size in the buffer, measured: see below); at least one minute of logs; at most a quarter of `nodes.diskSizeGiB`",
			float64(logging.BufferBytesPerLine)/logging.SizingLineBytes, float64(logging.BufferBytesPerLine)/logging.SizingLineBytes)},
		{code("memoryLimitMiB"), same(strconv.Itoa(logging.DefaultFluentBitMemoryMiB)), fmt.Sprintf("%d for fluentd; allowed %d-%d (fluent-bit), %d-%d (fluentd)",
			logging.DefaultFluentdMemoryMiB, logging.MemoryLimitRangeMiB[logging.FluentBit][0], logging.MemoryLimitRangeMiB[logging.FluentBit][1],
			logging.MemoryLimitRangeMiB[logging.Fluentd][0], logging.MemoryLimitRangeMiB[logging.Fluentd][1])},
		{code("excludeNamespaces"), exclude, "their log files are never read"},
	})
}

func monitoringTable() string {
	all := columns(Dev, Staging, Prod, Local)
	series := func(n int) string {
		if n >= 1000000 && n%1000000 == 0 {
			return fmt.Sprintf("%dM", n/1000000)
		}
		return fmt.Sprintf("%dk", n/1000)
	}
	return table("", all, []row{
		{"Prometheus replicas", func(c column) string {
			if c.env == Prod {
				return fmt.Sprintf("%d (min 2)", c.d.PrometheusReplicas)
			}
			return strconv.Itoa(c.d.PrometheusReplicas)
		}, "`prometheus.replicas`"},
		{"Alertmanager replicas", func(c column) string {
			if c.env == Prod {
				return fmt.Sprintf("%d (min 3)", c.d.AlertmanagerReplicas)
			}
			return strconv.Itoa(c.d.AlertmanagerReplicas)
		}, "`alertmanager.replicas`"},
		{"retention", func(c column) string { return c.d.Retention }, "`prometheus.retention`"},
		{"Prometheus volume (GiB) / retentionSize", func(c column) string {
			return fmt.Sprintf("%d / %s", c.d.PrometheusVolumeGiB, monitoring.RetentionSize(c.d.PrometheusVolumeGiB))
		}, "`prometheus.volumeSizeGiB`; the TSDB may use 85 % of it"},
		{"expected active series", func(c column) string { return series(c.d.ExpectedActiveSeries) }, "`prometheus.expectedActiveSeries`"},
		{"memory request / limit", func(c column) string {
			r := monitoring.PrometheusResources(c.d.ExpectedActiveSeries)
			return r.Requests.Memory + " / " + r.Limits.Memory
		}, "follows the series (sizing rule below)"},
		{"StorageClass", func(c column) string {
			if c.d.StorageClass == "" {
				return "cluster default"
			}
			return c.d.StorageClass
		}, "`storageClass`"},
		{"scrape interval", same(monitoring.DefaultScrapeInterval), "`prometheus.scrapeInterval`"},
		{"Alertmanager volume (GiB)", same(strconv.Itoa(monitoring.DefaultAlertmanagerVolumeGiB)), "`alertmanager.volumeSizeGiB`"},
		{"zone spread (maxSkew 1, DoNotSchedule) + PDB (maxUnavailable 1)", func(c column) string {
			switch {
			case c.env == Local:
				return "no"
			case c.d.PrometheusReplicas > 1:
				return "yes"
			}
			return "PDB only with >1 replica"
		}, ""},
	})
}

func routingTable() string {
	all := columns(Dev, Staging, Prod, Local)
	// onAWS shows v except in local, which has no AWS side.
	onAWS := func(v func(column) string) func(column) string {
		return func(c column) string {
			if c.env == Local {
				return "-"
			}
			return v(c)
		}
	}
	return table("field", all, []row{
		{"(`platform:domain`)", inEnv(Local, code(localDomain), "required"), "the existing foundation key; the HTTPS listener serves `*.<domain>`"},
		{code("hostedZoneId"), inEnv(Local, "must be unset", "required"), "Route53 zone id (`Z...`); every DNS permission is scoped to it"},
		{code("zoneName"), onAWS(same("`<domain>`")), "the zone's name; the domain must be it or under it"},
		{code("proxyReplicas"), func(c column) string { return strconv.Itoa(c.d.ProxyReplicas) }, "at least 2 in prod"},
		{code("tlsMode"), func(c column) string { return code(c.d.TLSMode) }, "`acme` or `acm` on AWS, `self-signed` in local"},
		{code("acmCertificateArn"), same("-"), "required with `acm`: a certificate for `*.<domain>` in the stack's region"},
		{code("acmeEmail"), same("-"), "optional ACME account contact"},
		{code("certManager"), same(code(routing.CertManagerInstall)), "`existing`: the cluster already runs cert-manager (its CRDs and webhook); the program creates only the ClusterIssuer and the wildcard Certificate, no chart, namespace, service account or role (in `acme` mode the existing install needs its own Route53 rights). Not used with `acm`. The engine test uses it: cert-manager's webhook is a pod that never runs there"},
		{code("externalDnsPolicy"), onAWS(func(c column) string { return code(c.d.ExternalDNSPolicy) }), "`sync` or `upsert-only`"},
		{code("accessLogRetentionDays"), onAWS(func(c column) string { return strconv.Itoa(c.d.AccessLogRetentionDays) }), "NLB access logs, `acm` mode only (the only TLS listener on the NLB), 1-3650"},
		{code("implementation"), same(code(routing.ImplementationEnvoyGateway)), "the only one today"},
		{code("apiServerPort"), func(c column) string { return strconv.Itoa(c.d.APIServerPort) }, "only local may change it (kind: 6443, minikube: 8443)"},
	})
}

func monitoringKeysTable() string {
	rows := [][3]string{
		{"`platform:monitoring.enabled`", "bool", "on when `platform:grafanaAdminPassword` is set"},
		{"`platform:monitoring.prometheus`", "object `{replicas, retention, volumeSizeGiB, expectedActiveSeries, scrapeInterval}`",
			"per environment (above); scrapeInterval " + monitoring.DefaultScrapeInterval},
		{"`platform:monitoring.alertmanager`", "object `{replicas, volumeSizeGiB, receivers, slackChannel, criticalRepeatInterval, warningRepeatInterval}`",
			fmt.Sprintf("per environment; volume %d GiB; repeat %s / %s; channel: the webhook's", monitoring.DefaultAlertmanagerVolumeGiB,
				monitoring.DefaultCriticalRepeatInterval, monitoring.DefaultWarningRepeatInterval)},
		{"`platform:monitoring.storageClass`", "string", "`gp3` (created by the cluster component) in cloud, cluster default in local"},
		{"`platform:monitoring.slo`", "object `{availability, latency, latencyThresholdMs}`",
			fmt.Sprintf("%v, %v, %d (must be an Envoy bucket bound)", monitoring.DefaultAvailabilityObjective, monitoring.DefaultLatencyObjective, monitoring.DefaultLatencyThresholdMs)},
		{"`platform:grafanaAdminPassword`", "**secret**", "required when monitoring is on"},
		{"`platform:alertSlackWebhookUrl`", "**secret**", "none (dev, staging and prod stack files set it)"},
		{"`platform:alertPagerdutyRoutingKey`", "**secret** (Events API v2)", "none (prod sets it)"},
		{"`platform:alertWebhookUrl`", "**secret**", "none"},
		{"`platform:alertHeartbeatUrl`", "**secret** (dead-man's switch)", "none (prod sets it)"},
	}
	var b strings.Builder
	b.WriteString("| key | type | default |\n|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", r[0], r[1], r[2])
	}
	return b.String()
}

// argsTable is a component's Args reference: field, default, meaning.
func argsTable(rows [][3]string) string {
	var b strings.Builder
	b.WriteString("| Args field | default | meaning |\n|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", r[0], r[1], r[2])
	}
	return b.String()
}

func networkArgsTable() string {
	return argsTable([][3]string{
		{"`ClusterName`", "required", "used in the `kubernetes.io/cluster/<name>: shared` discovery tags"},
		{"`AvailabilityZones`", "required, 2+", "AZs, in order; no lookup"},
		{"`VpcCIDR`", "required", "the VPC block"},
		{"`PrivateSubnetCIDRs`, `PublicSubnetCIDRs`", "required, one per AZ", "`stacks.SplitVPC` derives them from the VPC block"},
		{"`NatGateways`", code(network.DefaultNatGateways), "`perAz` (egress survives an AZ) or `single` (one gateway in the first AZ)"},
		{"`FlowLogRetentionDays`", strconv.Itoa(network.DefaultFlowLogRetentionDays), "retention of `/aws/vpc/<cluster>/flow-logs`"},
		{"`Tags`", "none", "added to every resource beside `Name`"},
		{"`Protect`", "false", "protects the VPC and the flow-log group"},
	})
}

func clusterArgsTable() string {
	return argsTable([][3]string{
		{"`Name`", "required", "the EKS cluster name (`cluster.CheckName`: 1-40 characters)"},
		{"`KubernetesVersion`", fmt.Sprintf("`cluster.DefaultKubernetesVersion` (%s)", cluster.DefaultKubernetesVersion), "a key of `cluster.KubernetesVersions` (versions in standard support, with pinned add-on versions)"},
		{"`Region`", "required", "written into the kubeconfig's `aws eks get-token`"},
		{"`Subnets`", "required, 2+", "`[]ZoneSubnet{Zone, ID}`: private subnets; one node group each"},
		{"`EndpointPublicAccess`, `PublicAccessCIDRs`", "off, none", "the private endpoint is always on; CIDRs required when public"},
		{"`AdminRoleARNs`, `ViewerRoleARNs`", "none", "access entries with AmazonEKSClusterAdminPolicy / AmazonEKSViewPolicy"},
		{"`LogRetentionDays`", strconv.Itoa(cluster.DefaultLogRetentionDays), "retention of `/aws/eks/<name>/cluster`"},
		{"`Nodes`", "`NodeArgs`: the `Nodes.` rows", "shape of each per-AZ managed node group"},
		{"`DependsOn`", "none", "resources nodes wait for (`network.EgressRoutes` and `PrivateRouteTableAssociations`)"},
		{"`Tags`", "none", "added to every AWS resource"},
		{"`Protect`", "false", "protects the cluster, its KMS key (30-day window), log group, node groups"},
		{"`Nodes.InstanceTypes`", list([]string{cluster.DefaultInstanceType}), "one architecture; Graviton types get the arm64 AL2023 image"},
		{"`Nodes.CapacityType`", code(cluster.DefaultCapacityType), "or `SPOT`"},
		{"`Nodes.MinSize` / `DesiredSize` / `MaxSize`", fmt.Sprintf("%d / %d / %d", cluster.DefaultMinSize, cluster.DefaultDesiredSize, cluster.DefaultMaxSize), "per AZ, when all three are unset; `DesiredSize` is the node count (no autoscaler), `cluster.CheckSizes`"},
		{"`Nodes.DiskSizeGiB`", strconv.Itoa(cluster.DefaultDiskSizeGiB), "encrypted gp3 root volume"},
		{"`Nodes.MaxUnavailable`", strconv.Itoa(cluster.DefaultMaxUnavailable), "per node group during updates"},
		{"`Nodes.Labels`, `Nodes.Taints`", "none", "on every node; taints `PreferNoSchedule` only (`cluster.CheckTaint`)"},
	})
}
