package policy

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/cnplatform/platform/components/cluster"
	"github.com/cnplatform/platform/harness"
)

const (
	eksCluster   = "aws:eks/cluster:Cluster"
	nodeGroup    = "aws:eks/nodeGroup:NodeGroup"
	launchTmpl   = "aws:ec2/launchTemplate:LaunchTemplate"
	subnetType   = "aws:ec2/subnet:Subnet"
	vpcType      = "aws:ec2/vpc:Vpc"
	kmsKey       = "aws:kms/key:Key"
	logGroup     = "aws:cloudwatch/logGroup:LogGroup"
	roleType     = "aws:iam/role:Role"
	attachType   = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
	rolePolicy   = "aws:iam/rolePolicy:RolePolicy"
	policyType   = "aws:iam/policy:Policy"
	sgType       = "aws:ec2/securityGroup:SecurityGroup"
	sgRuleType   = "aws:ec2/securityGroupRule:SecurityGroupRule"
	sgIngress    = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
	sgEgress     = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
	defaultSG    = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
	flowLogType  = "aws:ec2/flowLog:FlowLog"
	lbListener   = "aws:lb/listener:Listener"
	lbType       = "aws:lb/loadBalancer:LoadBalancer"
	bucketType   = "aws:s3/bucket:Bucket"
	bucketV2Type = "aws:s3/bucketV2:BucketV2"
)

func checkSecretsEncryption(in *input) []Finding {
	return each(in, eksCluster, "secrets encrypted with a customer KMS key", func(c harness.Resource) (problems []string) {
		if !slices.Contains(c.Strings("encryptionConfig", "resources"), "secrets") {
			problems = append(problems, "encryptionConfig does not cover secrets")
		}
		arn := c.String("encryptionConfig", "provider", "keyArn")
		if _, ok := in.keyByARN(arn); !ok {
			problems = append(problems, fmt.Sprintf("key %q is not a customer managed key declared by this stack", arn))
		}
		return problems
	})
}

func (in *input) keyByARN(arn string) (harness.Resource, bool) {
	for _, k := range in.res.OfType(kmsKey) {
		if arn != "" && (strings.HasSuffix(arn, "/"+k.ID) || arn == k.String("arn")) {
			return k, true
		}
	}
	return harness.Resource{}, false
}

func checkControlPlaneLogs(in *input) []Finding {
	var out []Finding
	for _, c := range in.res.OfType(eksCluster) {
		var missing []string
		for _, t := range cluster.ControlPlaneLogTypes {
			if !slices.Contains(c.Strings("enabledClusterLogTypes"), t) {
				missing = append(missing, t)
			}
		}
		if len(missing) > 0 {
			out = append(out, fail(c.URN, "control-plane log types missing: %s", strings.Join(missing, ", ")))
		} else {
			out = append(out, pass(c.URN, "all 5 control-plane log types enabled"))
		}
	}
	return out
}

func checkEndpointAccess(in *input) []Finding {
	return each(in, eksCluster, "private endpoint on; public endpoint off or restricted", func(c harness.Resource) (problems []string) {
		if !c.Bool("vpcConfig", "endpointPrivateAccess") {
			problems = append(problems, "private endpoint off")
		}
		public := c.Get("vpcConfig", "endpointPublicAccess")
		// The EKS API turns the public endpoint on when the field is unset.
		if public.IsNull() || public.IsBool() && public.BoolValue() {
			cidrs := c.Strings("vpcConfig", "publicAccessCidrs")
			switch {
			case len(cidrs) == 0:
				problems = append(problems, "public endpoint on without an allow-list (open to the internet)")
			case slices.ContainsFunc(cidrs, func(s string) bool { return strings.HasSuffix(s, "/0") }):
				problems = append(problems, "public endpoint allow-list contains a /0 block")
			}
		}
		return problems
	})
}

func checkNodesPrivate(in *input) []Finding {
	return each(in, nodeGroup, "nodes in private subnets without public IPs", func(g harness.Resource) (problems []string) {
		for _, id := range g.Strings("subnetIds") {
			s, ok := in.res.ByID(id)
			switch {
			case !ok:
				problems = append(problems, fmt.Sprintf("subnet %s is not declared here; cannot tell it is private", id))
			case s.Bool("mapPublicIpOnLaunch"):
				problems = append(problems, fmt.Sprintf("subnet %s gives public IPs", s.Name))
			case in.routesToInternetGateway(s):
				problems = append(problems, fmt.Sprintf("subnet %s routes straight to an internet gateway (public)", s.Name))
			}
		}
		if lt, ok := in.res.ByID(g.String("launchTemplate", "id")); ok {
			for i := range lt.Array("networkInterfaces") {
				if lt.String("networkInterfaces", fmt.Sprint(i), "associatePublicIpAddress") == "true" {
					problems = append(problems, "launch template associates public IPs")
				}
			}
		}
		return problems
	})
}

// routesToInternetGateway reports whether a subnet's route table sends
// traffic to an internet gateway.
func (in *input) routesToInternetGateway(subnet harness.Resource) bool {
	for _, a := range in.res.OfType("aws:ec2/routeTableAssociation:RouteTableAssociation") {
		if a.String("subnetId") != subnet.ID {
			continue
		}
		for _, r := range in.res.OfType("aws:ec2/route:Route") {
			if r.String("routeTableId") != a.String("routeTableId") {
				continue
			}
			if igw, ok := in.res.ByID(r.String("gatewayId")); ok && igw.Type == "aws:ec2/internetGateway:InternetGateway" {
				return true
			}
		}
	}
	return false
}

func checkIMDS(in *input) []Finding {
	return each(in, launchTmpl, "IMDSv2 required with hop limit 1", func(lt harness.Resource) (problems []string) {
		if lt.String("metadataOptions", "httpTokens") != "required" {
			problems = append(problems, "IMDSv2 not required (httpTokens)")
		}
		if hop := lt.Number("metadataOptions", "httpPutResponseHopLimit"); hop != 1 {
			problems = append(problems, fmt.Sprintf("hop limit %v lets pods reach node credentials", hop))
		}
		return problems
	})
}

// sgRule is one ingress or egress rule, wherever it is declared.
type sgRule struct {
	urn, direction, description, protocol string
	from, to                              float64
	cidrs                                 []string
}

func (in *input) securityGroupRules() []sgRule {
	var rules []sgRule
	for _, sg := range append(in.res.OfType(sgType), in.res.OfType(defaultSG)...) {
		for _, dir := range []string{"ingress", "egress"} {
			for i := range sg.Array(dir) {
				p := fmt.Sprint(i)
				rules = append(rules, sgRule{
					urn: sg.URN, direction: dir, description: sg.String(dir, p, "description"),
					protocol: sg.String(dir, p, "protocol"), from: sg.Number(dir, p, "fromPort"), to: sg.Number(dir, p, "toPort"),
					cidrs: sg.Strings(dir, p, "cidrBlocks"),
				})
			}
		}
	}
	for _, r := range in.res.OfType(sgRuleType) {
		rules = append(rules, sgRule{urn: r.URN, direction: r.String("type"), description: r.String("description"),
			protocol: r.String("protocol"), from: r.Number("fromPort"), to: r.Number("toPort"), cidrs: r.Strings("cidrBlocks")})
	}
	for typ, dir := range map[string]string{sgIngress: "ingress", sgEgress: "egress"} {
		for _, r := range in.res.OfType(typ) {
			rules = append(rules, sgRule{urn: r.URN, direction: dir, description: r.String("description"),
				protocol: r.String("ipProtocol"), from: r.Number("fromPort"), to: r.Number("toPort"), cidrs: []string{r.String("cidrIpv4")}})
		}
	}
	return rules
}

func checkNoSSH(in *input) []Finding {
	var out []Finding
	for _, g := range in.res.OfType(nodeGroup) {
		if g.Get("remoteAccess").IsNull() {
			out = append(out, pass(g.URN, "no remote (SSH) access"))
		} else {
			out = append(out, fail(g.URN, "remoteAccess opens SSH to the nodes"))
		}
	}
	for _, lt := range in.res.OfType(launchTmpl) {
		if lt.String("keyName") != "" {
			out = append(out, fail(lt.URN, "launch template carries SSH key pair %q", lt.String("keyName")))
		}
	}
	for _, r := range in.securityGroupRules() {
		if r.direction != "ingress" {
			continue
		}
		open := slices.ContainsFunc(r.cidrs, func(c string) bool { return strings.HasSuffix(c, "/0") })
		allPorts := r.protocol == "-1" || r.protocol == "all"
		for _, port := range []float64{22, 3389} {
			if open && (allPorts || r.from <= port && port <= r.to) {
				out = append(out, fail(r.urn, "ingress from the internet on port %v", port))
			}
		}
	}
	return out
}

func checkRuleDescriptions(in *input) []Finding {
	var out []Finding
	for _, r := range in.securityGroupRules() {
		if strings.TrimSpace(r.description) == "" {
			out = append(out, fail(r.urn, "%s rule %s %v-%v has no description", r.direction, r.protocol, r.from, r.to))
		} else {
			out = append(out, pass(r.urn, "%s rule described: %s", r.direction, r.description))
		}
	}
	return out
}

func checkDefaultSecurityGroup(in *input) []Finding {
	var out []Finding
	for _, vpc := range in.res.OfType(vpcType) {
		var sg *harness.Resource
		for _, d := range in.res.OfType(defaultSG) {
			if d.String("vpcId") == vpc.ID {
				sg = &d
			}
		}
		switch {
		case sg == nil:
			out = append(out, fail(vpc.URN, "the default security group is not managed, so it keeps AWS's allow-all rules"))
		case len(sg.Array("ingress")) > 0 || len(sg.Array("egress")) > 0:
			out = append(out, fail(sg.URN, "the default security group has rules"))
		default:
			out = append(out, pass(sg.URN, "the default security group allows nothing"))
		}
	}
	return out
}

func checkFlowLogs(in *input) []Finding {
	var out []Finding
	for _, vpc := range in.res.OfType(vpcType) {
		found := false
		for _, fl := range in.res.OfType(flowLogType) {
			if fl.String("vpcId") == vpc.ID {
				found = true
			}
		}
		if found {
			out = append(out, pass(vpc.URN, "flow logs enabled"))
		} else {
			out = append(out, fail(vpc.URN, "no flow log for this VPC"))
		}
	}
	return out
}

func checkKMS(in *input) []Finding {
	return each(in, kmsKey, "rotation on, no * principal", func(k harness.Resource) (problems []string) {
		if !k.Bool("enableKeyRotation") {
			problems = append(problems, "key rotation off")
		}
		if doc := k.String("policy"); doc != "" {
			for _, st := range parsePolicy(doc) {
				if st.Effect == "Allow" && st.wildcardPrincipal() {
					problems = append(problems, "key policy allows the * principal")
				}
			}
		}
		return problems
	})
}

func checkLogRetention(in *input) []Finding {
	var out []Finding
	for _, g := range in.res.OfType(logGroup) {
		if d := g.Number("retentionInDays"); d > 0 {
			out = append(out, pass(g.URN, "retention %v days", d))
		} else {
			out = append(out, fail(g.URN, "log group never expires"))
		}
	}
	return out
}

func checkKubernetesSupport(in *input) []Finding {
	var out []Finding
	for _, c := range in.res.OfType(eksCluster) {
		v := c.String("version")
		info, ok := cluster.KubernetesVersions[v]
		switch {
		case !ok:
			out = append(out, fail(c.URN, "Kubernetes %q is not a version we know to be in standard support", v))
		case !in.opts.Now.Before(info.StandardSupportEnds):
			out = append(out, fail(c.URN, "Kubernetes %s left standard support on %s (extended support costs 6x)", v, info.StandardSupportEnds.Format("2006-01-02")))
		default:
			out = append(out, pass(c.URN, "Kubernetes %s in standard support until %s", v, info.StandardSupportEnds.Format("2006-01-02")))
		}
	}
	return out
}

func checkAccessEntries(in *input) []Finding {
	var out []Finding
	for _, c := range in.res.OfType(eksCluster) {
		if mode := c.String("accessConfig", "authenticationMode"); mode == "API" {
			out = append(out, pass(c.URN, "authentication mode API: access entries only"))
		} else {
			out = append(out, fail(c.URN, "authentication mode %q still reads the aws-auth ConfigMap", mode))
		}
	}
	for _, o := range in.objects {
		if o.Kind() == "ConfigMap" && o.Namespace() == "kube-system" && o.Name() == "aws-auth" {
			out = append(out, fail(o.URN, "aws-auth ConfigMap declared"))
		}
	}
	return out
}

func checkVolumeEncryption(in *input) []Finding {
	var out []Finding
	for _, lt := range in.res.OfType(launchTmpl) {
		var problems []string
		for i := range lt.Array("blockDeviceMappings") {
			if lt.String("blockDeviceMappings", fmt.Sprint(i), "ebs", "encrypted") != "true" {
				problems = append(problems, fmt.Sprintf("block device %s not encrypted", lt.String("blockDeviceMappings", fmt.Sprint(i), "deviceName")))
			}
		}
		out = append(out, verdict(lt.URN, "node volumes encrypted", problems))
	}
	for _, o := range in.objects {
		if o.Kind() != "StorageClass" {
			continue
		}
		prov, _ := o.Object["provisioner"].(string)
		params, _ := o.Object["parameters"].(map[string]any)
		if prov == "ebs.csi.aws.com" {
			if params["encrypted"] == "true" {
				out = append(out, pass(o.URN, "EBS volumes of this class are encrypted"))
			} else {
				out = append(out, fail(o.URN, "EBS StorageClass without encrypted: \"true\""))
			}
		}
	}
	return out
}

// StatefulTypes are the resource types whose loss costs data or hours:
// protected in prod (S24).
var StatefulTypes = []string{eksCluster, kmsKey, logGroup, vpcType, nodeGroup, bucketType, bucketV2Type, "aws:rds/instance:Instance"}

func checkProtection(in *input) []Finding {
	if !in.opts.Production {
		return []Finding{pass("", "not a production stack: protection is not required")}
	}
	var out []Finding
	for _, r := range in.res.Resources {
		if !slices.Contains(StatefulTypes, r.Type) {
			continue
		}
		if r.Protect {
			out = append(out, pass(r.URN, "protected"))
		} else {
			out = append(out, fail(r.URN, "stateful or costly prod resource without protect"))
		}
	}
	for _, k := range in.res.OfType(kmsKey) {
		if w := k.Number("deletionWindowInDays"); w < 30 {
			out = append(out, fail(k.URN, "KMS deletion window %v days; prod uses 30", w))
		}
	}
	return out
}

// StateBucketTag marks an S3 bucket as a Pulumi state backend (S26); the
// bootstrap project tags its bucket with StateBucketPurpose.
const (
	StateBucketTag     = "platform/purpose"
	StateBucketPurpose = "pulumi-state"
)

func checkStateBackend(in *input) []Finding {
	var out []Finding
	buckets := append(in.res.OfType(bucketType), in.res.OfType(bucketV2Type)...)
	for _, b := range buckets {
		if b.String("tags", StateBucketTag) != StateBucketPurpose {
			continue
		}
		var problems []string
		versioned := b.Bool("versioning", "enabled")
		for _, v := range in.bucketResources(b, "aws:s3/bucketVersioningV2:BucketVersioningV2") {
			versioned = versioned || v.String("versioningConfiguration", "status") == "Enabled"
		}
		if !versioned {
			problems = append(problems, "versioning not Enabled")
		}
		kmsEncrypted := false
		for _, e := range in.bucketResources(b, "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2") {
			for i := range e.Array("rules") {
				alg := e.String("rules", fmt.Sprint(i), "applyServerSideEncryptionByDefault", "sseAlgorithm")
				kmsEncrypted = kmsEncrypted || strings.HasPrefix(alg, "aws:kms")
			}
		}
		if !kmsEncrypted {
			problems = append(problems, "not encrypted with KMS (sseAlgorithm aws:kms)")
		}
		blocked := false
		for _, p := range in.bucketResources(b, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock") {
			blocked = blocked || p.Bool("blockPublicAcls") && p.Bool("blockPublicPolicy") && p.Bool("ignorePublicAcls") && p.Bool("restrictPublicBuckets")
		}
		if !blocked {
			problems = append(problems, "public access not blocked (all four settings)")
		}
		tlsOnly := false
		for _, p := range in.bucketResources(b, "aws:s3/bucketPolicy:BucketPolicy") {
			for _, st := range parsePolicy(p.String("policy")) {
				if st.Effect == "Deny" && fmt.Sprint(st.Condition["Bool"]["aws:SecureTransport"]) == "false" {
					tlsOnly = true
				}
			}
		}
		if !tlsOnly {
			problems = append(problems, "no policy denying requests without TLS (aws:SecureTransport)")
		}
		out = append(out, verdict(b.URN, "state bucket: KMS-encrypted, versioned, private, TLS only", problems))
	}
	return out
}

// bucketResources returns the resources of typ configuring bucket b.
func (in *input) bucketResources(b harness.Resource, typ string) []harness.Resource {
	var out []harness.Resource
	for _, r := range in.res.OfType(typ) {
		if r.String("bucket") == b.ID || (b.String("bucket") != "" && r.String("bucket") == b.String("bucket")) {
			out = append(out, r)
		}
	}
	return out
}

func checkListeners(in *input) []Finding {
	var out []Finding
	for _, l := range in.res.OfType(lbListener) {
		var problems []string
		switch l.String("protocol") {
		case "HTTPS", "TLS":
			if !strongTLSPolicy(l.String("sslPolicy")) {
				problems = append(problems, fmt.Sprintf("TLS policy %q allows TLS below 1.2", l.String("sslPolicy")))
			}
		case "HTTP":
			if l.String("defaultActions", "0", "type") != "redirect" || l.String("defaultActions", "0", "redirect", "protocol") != "HTTPS" {
				problems = append(problems, "HTTP listener serves traffic instead of redirecting to HTTPS")
			}
		}
		out = append(out, verdict(l.URN, "listener secure", problems))
	}
	out = append(out, in.gatewayListenerFindings()...)
	out = append(out, in.annotationFindings("service.beta.kubernetes.io/aws-load-balancer-ssl-negotiation-policy", func(urn, v string) Finding {
		if strongTLSPolicy(v) {
			return pass(urn, "NLB TLS policy %s", v)
		}
		return fail(urn, "NLB TLS policy %q allows TLS below 1.2", v)
	})...)
	return out
}

// strongTLSPolicy accepts the ELB security policies that allow TLS 1.2 and
// above only.
func strongTLSPolicy(p string) bool {
	return strings.Contains(p, "TLS13-1-2") || strings.Contains(p, "TLS-1-2") || strings.Contains(p, "TLS13-1-3") ||
		strings.Contains(p, "FS-1-2")
}

func checkLoadBalancerAttributes(in *input) []Finding {
	var out []Finding
	for _, lb := range in.res.OfType(lbType) {
		var problems []string
		if !lb.Bool("accessLogs", "enabled") {
			problems = append(problems, "access logs off")
		}
		if in.opts.Production && !lb.Bool("enableDeletionProtection") {
			problems = append(problems, "deletion protection off in prod")
		}
		out = append(out, verdict(lb.URN, "access logs on (and deletion protection in prod)", problems))
	}
	// AWS writes NLB access logs only for TLS listeners: "Access logs are
	// created only if the load balancer has a TLS listener, and the logs
	// contain information about TLS requests only" (Elastic Load
	// Balancing, "Access logs for your Network Load Balancer",
	// docs.aws.amazon.com/elasticloadbalancing/latest/network/load-balancer-access-logs.html).
	// An NLB whose listeners are all TCP (TLS terminated behind it) cannot
	// have them: claiming them is a failure, and not having them is an
	// exemption that says what records its connections instead.
	tlsListener := func(urn string) bool { return in.hasAnnotation(urn, nlbSSLCert) }
	out = append(out, in.annotationFindings(nlbAttributes, func(urn, v string) Finding {
		var problems []string
		logs := strings.Contains(v, "access_logs.s3.enabled=true")
		switch {
		case tlsListener(urn) && !logs:
			problems = append(problems, "NLB access logs off")
		case !tlsListener(urn) && logs:
			problems = append(problems, "NLB access logs claimed without a TLS listener (no aws-load-balancer-ssl-cert): AWS writes NLB access logs for TLS listeners only, so none would ever be written")
		}
		if in.opts.Production && !strings.Contains(v, "deletion_protection.enabled=true") {
			problems = append(problems, "NLB deletion protection off in prod")
		}
		if len(problems) == 0 && !tlsListener(urn) {
			return exempt(urn, "%s", tcpNLBLogsExemption)
		}
		return verdict(urn, "NLB attributes: "+v, problems)
	})...)
	for _, urn := range in.internetFacingNLBs() {
		if in.hasAnnotation(urn, nlbAttributes) {
			continue
		}
		switch {
		case tlsListener(urn):
			out = append(out, fail(urn, "internet-facing NLB with a TLS listener without access logs (no aws-load-balancer-attributes annotation)"))
		case in.opts.Production:
			out = append(out, fail(urn, "internet-facing NLB without deletion protection in prod (no aws-load-balancer-attributes annotation)"))
		default:
			out = append(out, exempt(urn, "%s", tcpNLBLogsExemption))
		}
	}
	return out
}

const (
	nlbAttributes = "service.beta.kubernetes.io/aws-load-balancer-attributes"
	nlbSSLCert    = "service.beta.kubernetes.io/aws-load-balancer-ssl-cert"
	// tcpNLBLogsExemption is S13's documented exception (docs/guardrails.md).
	tcpNLBLogsExemption = "NLB with TCP listeners only (TLS terminates at the proxy): AWS writes NLB access logs for TLS listeners only; " +
		"the proxy's access log and the VPC flow logs (S9) record its connections"
)

// policyStatement is one statement of an IAM document, with the fields
// normalised to lists.
type policyStatement struct {
	Sid       string
	Effect    string
	Action    []string
	Resource  []string
	Principal any
	Condition map[string]map[string]any
}

func (s policyStatement) wildcardPrincipal() bool {
	switch p := s.Principal.(type) {
	case string:
		return p == "*"
	case map[string]any:
		for _, v := range p {
			if v == "*" {
				return true
			}
			if list, ok := v.([]any); ok && slices.Contains(list, any("*")) {
				return true
			}
		}
	}
	return false
}

func parsePolicy(doc string) []policyStatement {
	var raw struct {
		Statement json.RawMessage
	}
	if json.Unmarshal([]byte(doc), &raw) != nil {
		return nil
	}
	var list []map[string]any
	if json.Unmarshal(raw.Statement, &list) != nil {
		var one map[string]any
		if json.Unmarshal(raw.Statement, &one) != nil {
			return nil
		}
		list = []map[string]any{one}
	}
	var out []policyStatement
	for _, m := range list {
		st := policyStatement{Principal: m["Principal"]}
		st.Sid, _ = m["Sid"].(string)
		st.Effect, _ = m["Effect"].(string)
		st.Action = stringList(m["Action"])
		st.Resource = stringList(m["Resource"])
		if c, ok := m["Condition"].(map[string]any); ok {
			st.Condition = map[string]map[string]any{}
			for op, v := range c {
				st.Condition[op], _ = v.(map[string]any)
			}
		}
		out = append(out, st)
	}
	return out
}

func stringList(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// readOnly reports whether every action only reads: AWS does not scope these
// by resource for most services, so `*` is unavoidable there.
func readOnly(actions []string) bool {
	for _, a := range actions {
		name := a[strings.Index(a, ":")+1:]
		if !(strings.HasPrefix(name, "Describe") || strings.HasPrefix(name, "List") || strings.HasPrefix(name, "Get")) || strings.Contains(name, "*") {
			return false
		}
	}
	return len(actions) > 0
}

// nodeRolePolicies are the managed policies a node role may hold (the VPC
// CNI's own role holds the network policy).
var nodeRolePolicies = cluster.NodeRoleManagedPolicies

func checkIAM(in *input) []Finding {
	var out []Finding
	docs := map[string]string{}
	for _, p := range append(in.res.OfType(rolePolicy), in.res.OfType(policyType)...) {
		docs[p.URN] = p.String("policy")
	}
	urns := make([]string, 0, len(docs))
	for u := range docs {
		urns = append(urns, u)
	}
	sort.Strings(urns)
	for _, urn := range urns {
		var problems, exemptions []string
		for _, st := range parsePolicy(docs[urn]) {
			if st.Effect != "Allow" {
				continue
			}
			for _, a := range st.Action {
				if a == "*" || strings.HasSuffix(a, ":*") {
					problems = append(problems, fmt.Sprintf("wildcard action %q", a))
				}
			}
			for _, r := range st.Resource {
				switch {
				case strings.HasSuffix(r, ":hostedzone/*"):
					problems = append(problems, "Route53 access to every hosted zone (hostedzone/*)")
				case r == "*" && readOnly(st.Action):
					exemptions = append(exemptions, fmt.Sprintf("%s on * (read-only actions AWS does not scope by resource)", strings.Join(st.Action, ",")))
				case r == "*" && len(st.Condition) > 0:
					exemptions = append(exemptions, fmt.Sprintf("%s on * limited by condition %v", strings.Join(st.Action, ","), conditionKeys(st.Condition)))
				case r == "*":
					problems = append(problems, fmt.Sprintf("%s on every resource (*)", strings.Join(st.Action, ",")))
				}
			}
		}
		switch {
		case len(problems) > 0:
			out = append(out, fail(urn, "%s", join(problems)))
		case len(exemptions) > 0:
			out = append(out, exempt(urn, "%s", join(exemptions)))
		default:
			out = append(out, pass(urn, "actions and resources named"))
		}
	}
	out = append(out, in.nodeRoleFindings()...)
	out = append(out, in.workloadTrustFindings()...)
	return out
}

func conditionKeys(c map[string]map[string]any) []string {
	var keys []string
	for op, m := range c {
		for k := range m {
			keys = append(keys, op+":"+k)
		}
	}
	sort.Strings(keys)
	return keys
}

func (in *input) roleByARN(arn string) (harness.Resource, bool) {
	for _, r := range in.res.OfType(roleType) {
		if strings.HasSuffix(arn, ":role/"+r.Name) || (r.String("name") != "" && strings.HasSuffix(arn, ":role/"+r.String("name"))) {
			return r, true
		}
	}
	return harness.Resource{}, false
}

func (in *input) nodeRoleFindings() []Finding {
	var out []Finding
	seen := map[string]bool{}
	for _, g := range in.res.OfType(nodeGroup) {
		role, ok := in.roleByARN(g.String("nodeRoleArn"))
		if !ok || seen[role.URN] {
			continue
		}
		seen[role.URN] = true
		var problems []string
		for _, a := range in.res.OfType(attachType) {
			if a.String("role") == role.Name || a.String("role") == role.String("name") || a.String("role") == role.ID {
				if p := a.String("policyArn"); !slices.Contains(nodeRolePolicies, p) {
					problems = append(problems, "extra policy "+p)
				}
			}
		}
		for _, p := range in.res.OfType(rolePolicy) {
			if p.String("role") == role.ID || p.String("role") == role.Name {
				problems = append(problems, "inline policy "+p.Name)
			}
		}
		out = append(out, verdict(role.URN, "node role holds only the managed node policies", problems))
	}
	return out
}

func (in *input) workloadTrustFindings() []Finding {
	var out []Finding
	for _, r := range in.res.OfType(roleType) {
		for _, st := range parsePolicy(r.String("assumeRolePolicy")) {
			if !slices.Contains(st.Action, "sts:AssumeRoleWithWebIdentity") {
				continue
			}
			var sub string
			for op, m := range st.Condition {
				for k, v := range m {
					if strings.HasSuffix(k, ":sub") {
						s, _ := v.(string)
						if op != "StringEquals" || strings.ContainsAny(s, "*?") {
							out = append(out, fail(r.URN, "web identity trust %s %q is not one exact service account", op, s))
							sub = "-"
						} else if sub == "" {
							sub = s
						}
					}
				}
			}
			switch sub {
			case "":
				out = append(out, fail(r.URN, "web identity trust without a service-account condition: any pod could assume it"))
			case "-":
			default:
				out = append(out, pass(r.URN, "assumable only by %s", sub))
			}
		}
	}
	return out
}
