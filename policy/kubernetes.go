package policy

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/cnplatform/platform/harness"
)

const (
	helmRelease   = "kubernetes:helm.sh/v3:Release"
	secretType    = "kubernetes:core/v1:Secret"
	partOfLabel   = "app.kubernetes.io/part-of"
	enforceLabel  = "pod-security.kubernetes.io/enforce"
	psaReason     = "platform/pod-security-reason"
	exemptionNote = "platform/security-exemption"
)

var workloadKinds = map[string][]string{
	"Pod":         {"spec"},
	"Deployment":  {"spec", "template", "spec"},
	"DaemonSet":   {"spec", "template", "spec"},
	"StatefulSet": {"spec", "template", "spec"},
	"ReplicaSet":  {"spec", "template", "spec"},
	"Job":         {"spec", "template", "spec"},
	"CronJob":     {"spec", "jobTemplate", "spec", "template", "spec"},
}

// workload is a hand-written object that runs pods.
type workload struct {
	obj     harness.KubernetesObject
	podSpec map[string]any
}

func (in *input) workloads() []workload {
	var out []workload
	for _, o := range in.objects {
		path, ok := workloadKinds[o.Kind()]
		if !ok {
			continue
		}
		var cur any = o.Object
		for _, p := range path {
			m, _ := cur.(map[string]any)
			cur = m[p]
		}
		spec, _ := cur.(map[string]any)
		out = append(out, workload{obj: o, podSpec: spec})
	}
	return out
}

func (w workload) annotation(key string) string {
	md, _ := w.obj.Object["metadata"].(map[string]any)
	ann, _ := md["annotations"].(map[string]any)
	s, _ := ann[key].(string)
	return s
}

func (w workload) containers() []map[string]any {
	var out []map[string]any
	for _, key := range []string{"initContainers", "containers"} {
		list, _ := w.podSpec[key].([]any)
		for _, c := range list {
			if m, ok := c.(map[string]any); ok {
				out = append(out, m)
			}
		}
	}
	return out
}

func checkPodSecurity(in *input) []Finding {
	var out []Finding
	for _, w := range in.workloads() {
		var problems []string
		podSC := harness.Dig(w.podSpec, "securityContext")
		for _, c := range w.containers() {
			name, _ := c["name"].(string)
			sc := c["securityContext"]
			nonRoot := harness.Dig(sc, "runAsNonRoot") == true || harness.Dig(podSC, "runAsNonRoot") == true
			if !nonRoot {
				problems = append(problems, name+": runAsNonRoot not set")
			}
			if harness.Dig(sc, "allowPrivilegeEscalation") != false {
				problems = append(problems, name+": allowPrivilegeEscalation not false")
			}
			drop, _ := harness.Dig(sc, "capabilities", "drop").([]any)
			if !containsAny(drop, "ALL") {
				problems = append(problems, name+": capabilities not dropped (ALL)")
			}
			if harness.Dig(sc, "readOnlyRootFilesystem") != true {
				problems = append(problems, name+": root filesystem writable")
			}
			seccomp := harness.Dig(sc, "seccompProfile", "type")
			if seccomp == nil {
				seccomp = harness.Dig(podSC, "seccompProfile", "type")
			}
			if seccomp != "RuntimeDefault" && seccomp != "Localhost" {
				problems = append(problems, name+": no RuntimeDefault seccomp profile")
			}
		}
		out = append(out, withExemption(w, verdict(w.obj.URN, "pods run non-root, read-only, no privileges, seccomp RuntimeDefault", problems)))
	}
	return out
}

// withExemption turns a failure into an exemption when the workload
// documents why (annotation platform/security-exemption).
func withExemption(w workload, f Finding) Finding {
	if f.Status == Fail {
		if reason := w.annotation(exemptionNote); reason != "" {
			return exempt(f.Resource, "%s (exempt: %s)", f.Message, reason)
		}
	}
	return f
}

func containsAny(list []any, want string) bool {
	for _, v := range list {
		if v == want {
			return true
		}
	}
	return false
}

func checkResources(in *input) []Finding {
	var out []Finding
	for _, w := range in.workloads() {
		var problems []string
		for _, c := range w.containers() {
			name, _ := c["name"].(string)
			for _, path := range [][]string{{"requests", "cpu"}, {"requests", "memory"}, {"limits", "memory"}} {
				if harness.Dig(c, append([]string{"resources"}, path...)...) == nil {
					problems = append(problems, fmt.Sprintf("%s: no %s %s", name, path[0], path[1]))
				}
			}
		}
		out = append(out, withExemption(w, verdict(w.obj.URN, "CPU and memory requests and memory limits set", problems)))
	}
	return out
}

func checkServiceAccounts(in *input) []Finding {
	var out []Finding
	for _, w := range in.workloads() {
		var problems []string
		if ns := w.obj.Namespace(); ns == "" || ns == "default" {
			problems = append(problems, "runs in the default namespace")
		}
		if harness.Dig(w.podSpec, "automountServiceAccountToken") != false && w.annotation("platform/needs-api-token") == "" {
			problems = append(problems, "service account token mounted without a stated need (platform/needs-api-token)")
		}
		out = append(out, withExemption(w, verdict(w.obj.URN, "no default namespace; token mounted only when needed", problems)))
	}
	for _, r := range in.res.OfType(helmRelease) {
		if ns := r.String("namespace"); ns == "" || ns == "default" {
			out = append(out, fail(r.URN, "chart installed into the default namespace"))
		} else {
			out = append(out, pass(r.URN, "chart in its own namespace %s", ns))
		}
	}
	return out
}

// platformNamespaces are the namespaces the platform owns.
func (in *input) platformNamespaces() []harness.KubernetesObject {
	var out []harness.KubernetesObject
	for _, o := range in.objects {
		if o.Kind() == "Namespace" && harness.Dig(o.Object, "metadata", "labels", partOfLabel) == "platform" {
			out = append(out, o)
		}
	}
	return out
}

func checkDefaultDeny(in *input) []Finding {
	var out []Finding
	for _, ns := range in.platformNamespaces() {
		found := false
		for _, o := range in.objects {
			if o.Kind() != "NetworkPolicy" || o.Namespace() != ns.Name() {
				continue
			}
			sel, _ := harness.Dig(o.Object, "spec", "podSelector").(map[string]any)
			types, _ := harness.Dig(o.Object, "spec", "policyTypes").([]any)
			if len(sel) == 0 && containsAny(types, "Ingress") && containsAny(types, "Egress") &&
				harness.Dig(o.Object, "spec", "ingress") == nil && harness.Dig(o.Object, "spec", "egress") == nil {
				found = true
			}
		}
		if found {
			out = append(out, pass(ns.URN, "default-deny ingress and egress in %s", ns.Name()))
		} else {
			out = append(out, fail(ns.URN, "no default-deny NetworkPolicy in %s", ns.Name()))
		}
	}
	return out
}

func checkPodSecurityLabels(in *input) []Finding {
	var out []Finding
	for _, ns := range in.platformNamespaces() {
		level, _ := harness.Dig(ns.Object, "metadata", "labels", enforceLabel).(string)
		reason, _ := harness.Dig(ns.Object, "metadata", "annotations", psaReason).(string)
		switch {
		case level == "restricted":
			out = append(out, pass(ns.URN, "%s enforces restricted", ns.Name()))
		case level == "":
			out = append(out, fail(ns.URN, "%s has no Pod Security enforce label", ns.Name()))
		case reason != "":
			out = append(out, exempt(ns.URN, "%s enforces %s: %s", ns.Name(), level, reason))
		default:
			out = append(out, fail(ns.URN, "%s enforces %s without a documented reason", ns.Name(), level))
		}
	}
	return out
}

var (
	exactChartVersion = regexp.MustCompile(`^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$`)
	secretishName     = regexp.MustCompile(`(?i)(token|passw|secret|api[_-]?key|webhook)`)
)

func checkPinned(in *input) []Finding {
	var out []Finding
	for _, r := range in.res.OfType(helmRelease) {
		var problems []string
		if v := r.String("version"); !exactChartVersion.MatchString(v) {
			problems = append(problems, fmt.Sprintf("chart %s version %q is not exact", r.String("chart"), v))
		}
		harness.Walk(harness.Plain(r.Get("values")), func(m map[string]any, _ []map[string]any) {
			if tag, ok := m["tag"].(string); ok && (tag == "latest" || tag == "") {
				problems = append(problems, fmt.Sprintf("image tag %q", tag))
			}
		})
		out = append(out, verdict(r.URN, fmt.Sprintf("chart %s pinned at %s", r.String("chart"), r.String("version")), problems))
	}
	for _, w := range in.workloads() {
		var problems []string
		for _, c := range w.containers() {
			img, _ := c["image"].(string)
			if !pinnedImage(img) {
				problems = append(problems, fmt.Sprintf("image %q not pinned to a version", img))
			}
		}
		out = append(out, verdict(w.obj.URN, "images pinned", problems))
	}
	return out
}

func pinnedImage(img string) bool {
	if strings.Contains(img, "@sha256:") {
		return true
	}
	slash := strings.LastIndex(img, "/")
	colon := strings.LastIndex(img, ":")
	return colon > slash && img[colon+1:] != "latest"
}

// plainStrings calls fn for every string input that is not a Pulumi secret.
func plainStrings(v resource.PropertyValue, path string, fn func(path, s string)) {
	switch {
	case v.IsSecret():
		return
	case v.IsString():
		fn(path, v.StringValue())
	case v.IsObject():
		for k, e := range v.ObjectValue() {
			plainStrings(e, path+"."+string(k), fn)
		}
	case v.IsArray():
		for i, e := range v.ArrayValue() {
			plainStrings(e, fmt.Sprintf("%s[%d]", path, i), fn)
		}
	case v.IsOutput():
		if !v.OutputValue().Secret {
			plainStrings(v.OutputValue().Element, path, fn)
		}
	}
}

func checkSecrets(in *input) []Finding {
	var out []Finding
	for _, s := range in.res.OfType(secretType) {
		var problems []string
		for _, field := range []string{"stringData", "data"} {
			if s.IsSecret(field) {
				continue
			}
			v := s.Get(field)
			if !v.IsObject() {
				continue
			}
			keys := make([]string, 0)
			for k := range v.ObjectValue() {
				keys = append(keys, string(k))
			}
			sort.Strings(keys)
			for _, k := range keys {
				if !s.IsSecret(field, k) {
					problems = append(problems, fmt.Sprintf("%s.%s is stored in plain text in the state", field, k))
				}
			}
		}
		out = append(out, verdict(s.URN, "Secret values are Pulumi secrets", problems))
	}
	// A secret config value must never appear outside a secret: the harness
	// gives every secret config key a recognisable placeholder.
	marker := harness.SecretPlaceholder("")
	marker = marker[:strings.LastIndex(marker, "-")]
	for _, r := range in.res.Resources {
		if !r.Custom {
			continue
		}
		plainStrings(resource.NewProperty(r.Inputs), "", func(path, s string) {
			if strings.Contains(s, marker) {
				out = append(out, fail(r.URN, "secret configuration in plain input %s", strings.TrimPrefix(path, ".")))
			}
		})
		// Environment variables named like secrets must come from a Secret.
		harness.Walk(r.PlainInputs(), func(m map[string]any, _ []map[string]any) {
			name, _ := m["name"].(string)
			value, hasValue := m["value"].(string)
			_, hasFrom := m["valueFrom"]
			if name != "" && hasValue && value != "" && !hasFrom && secretishName.MatchString(name) && looksLikeEnv(m) {
				out = append(out, fail(r.URN, "env %s is a literal; secrets come from a Secret (valueFrom.secretKeyRef)", name))
			}
		})
	}
	return out
}

// looksLikeEnv tells an env entry ({name, value}) from other name/value maps.
func looksLikeEnv(m map[string]any) bool {
	for k := range m {
		if k != "name" && k != "value" && k != "valueFrom" {
			return false
		}
	}
	return true
}

// annotated finds every map under key "annotations" (in hand-written objects
// and chart values) that carries annotation key.
func (in *input) annotated(key string, fn func(urn, value string)) {
	for _, r := range in.res.Kubernetes() {
		harness.Walk(r.PlainInputs(), func(m map[string]any, _ []map[string]any) {
			if v, ok := m[key].(string); ok {
				fn(r.URN, v)
			}
		})
	}
}

func (in *input) annotationFindings(key string, fn func(urn, value string) Finding) []Finding {
	var out []Finding
	in.annotated(key, func(urn, v string) { out = append(out, fn(urn, v)) })
	return out
}

func (in *input) hasAnnotation(urn, key string) bool {
	found := false
	in.annotated(key, func(u, _ string) { found = found || u == urn })
	return found
}

func (in *input) internetFacingNLBs() []string {
	var urns []string
	seen := map[string]bool{}
	in.annotated("service.beta.kubernetes.io/aws-load-balancer-scheme", func(urn, v string) {
		if v == "internet-facing" && !seen[urn] {
			seen[urn] = true
			urns = append(urns, urn)
		}
	})
	return urns
}

// gatewayListenerFindings checks Gateway API listeners: an HTTP listener
// must only redirect to HTTPS.
func (in *input) gatewayListenerFindings() []Finding {
	var out []Finding
	for _, gw := range in.objects {
		if gw.Kind() != "Gateway" || !strings.HasPrefix(fmt.Sprint(gw.Object["apiVersion"]), "gateway.networking.k8s.io/") {
			continue
		}
		listeners, _ := harness.Dig(gw.Object, "spec", "listeners").([]any)
		for _, l := range listeners {
			lm, _ := l.(map[string]any)
			if lm["protocol"] != "HTTP" {
				continue
			}
			lname, _ := lm["name"].(string)
			var problems []string
			for _, route := range in.objects {
				if route.Kind() != "HTTPRoute" || !attaches(route, gw, lname) {
					continue
				}
				if !onlyRedirectsToHTTPS(route) {
					problems = append(problems, fmt.Sprintf("HTTPRoute %s/%s serves traffic on it", route.Namespace(), route.Name()))
				}
			}
			out = append(out, verdict(gw.URN, fmt.Sprintf("HTTP listener %s only redirects to HTTPS", lname), problems))
		}
	}
	return out
}

// attaches reports whether route is attached to gw's listener lname.
func attaches(route, gw harness.KubernetesObject, lname string) bool {
	refs, _ := harness.Dig(route.Object, "spec", "parentRefs").([]any)
	for _, r := range refs {
		rm, _ := r.(map[string]any)
		ns, _ := rm["namespace"].(string)
		if ns == "" {
			ns = route.Namespace()
		}
		section, _ := rm["sectionName"].(string)
		if rm["name"] == gw.Name() && ns == gw.Namespace() && (section == "" || section == lname) {
			return true
		}
	}
	return false
}

func onlyRedirectsToHTTPS(route harness.KubernetesObject) bool {
	rules, _ := harness.Dig(route.Object, "spec", "rules").([]any)
	if len(rules) == 0 {
		return false
	}
	for _, r := range rules {
		rm, _ := r.(map[string]any)
		if refs, _ := rm["backendRefs"].([]any); len(refs) > 0 {
			return false
		}
		filters, _ := rm["filters"].([]any)
		if len(filters) == 0 {
			return false
		}
		for _, f := range filters {
			fm, _ := f.(map[string]any)
			if fm["type"] != "RequestRedirect" || harness.Dig(fm, "requestRedirect", "scheme") != "https" {
				return false
			}
		}
	}
	return true
}
