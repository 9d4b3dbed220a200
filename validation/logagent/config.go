package logagent

import (
	"fmt"
	"path"
	"reflect"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/cnplatform/platform/components/logging/agentspec"
)

// Where the generated configuration expects things on a node.
const nodeLogDir = agentspec.ContainerLogDir

// TestPaths are the places on this machine that replace the node's paths
// and the LogScale address in the generated configuration.
type TestPaths struct {
	// LogDir replaces /var/log/containers (tail path, exclude_path, and the
	// kubernetes filter's tag prefix derived from it).
	LogDir string
	// StoragePath and DB replace the hostPath buffer directory's files.
	StoragePath, DB string
	// Parsers replaces the image's /fluent-bit/etc/parsers.conf.
	Parsers string
	// MetricsPort: the HTTP server listens on 127.0.0.1 here instead of
	// 0.0.0.0:2020, so scenarios run side by side.
	MetricsPort int
	// ReceiverPort: LogScale is 127.0.0.1 on this port, without TLS.
	ReceiverPort int
	// KubeURL, KubeCAFile, KubeTokenFile point the kubernetes filter at the
	// test's kube-apiserver instead of the in-cluster defaults
	// (https://kubernetes.default.svc, the pod's service account files).
	KubeURL, KubeCAFile, KubeTokenFile string
}

// Change is one key ForTest rewrote; From is empty for a key it added.
type Change struct {
	Key, From, To string
}

func (c Change) String() string {
	if c.From == "" {
		return fmt.Sprintf("%s: (unset) -> %s", c.Key, c.To)
	}
	return fmt.Sprintf("%s: %s -> %s", c.Key, c.From, c.To)
}

// Generated is the fields of a generated configuration the scenarios need.
type Generated struct {
	// Index, User and PasswordEnv are what the es output sends: the
	// repository, the basic-auth user and the environment variable holding
	// the ingest token.
	Index, User, PasswordEnv string
	// ExcludedNamespaces are the namespaces whose files the tail input
	// skips.
	ExcludedNamespaces []string
	// TotalLimitBytes is the output's storage.total_limit_size.
	TotalLimitBytes int64
	// MaxChunksUp is storage.max_chunks_up.
	MaxChunksUp int
	// SchedulerCap is scheduler.cap (seconds).
	SchedulerCap int
}

func plugin(list []map[string]any, name string) (map[string]any, error) {
	var found []map[string]any
	for _, p := range list {
		if p["name"] == name {
			found = append(found, p)
		}
	}
	if len(found) != 1 {
		return nil, fmt.Errorf("want exactly one %q plugin, found %d", name, len(found))
	}
	return found[0], nil
}

func str(m map[string]any, key string) (string, error) {
	s, ok := m[key].(string)
	if !ok || s == "" {
		return "", fmt.Errorf("%s: want a non-empty string, got %v", key, m[key])
	}
	return s, nil
}

// Inspect reads the fields of a generated configuration the scenarios need.
func Inspect(generated []byte) (Generated, error) {
	var g Generated
	var doc agentspec.PlainFluentBitConfig
	if err := yaml.UnmarshalStrict(generated, &doc); err != nil {
		return g, err
	}
	es, err := plugin(doc.Pipeline.Outputs, "es")
	if err != nil {
		return g, err
	}
	tail, err := plugin(doc.Pipeline.Inputs, "tail")
	if err != nil {
		return g, err
	}
	if g.Index, err = str(es, "index"); err != nil {
		return g, err
	}
	if g.User, err = str(es, "http_user"); err != nil {
		return g, err
	}
	pw, err := str(es, "http_passwd")
	if err != nil {
		return g, err
	}
	env, ok := strings.CutPrefix(pw, "${")
	env, ok2 := strings.CutSuffix(env, "}")
	if !ok || !ok2 {
		return g, fmt.Errorf("http_passwd %q: want ${VARIABLE} (the token comes from the environment)", pw)
	}
	g.PasswordEnv = env
	if ex, _ := tail["exclude_path"].(string); ex != "" {
		for _, p := range strings.Split(ex, ",") {
			// /var/log/containers/*_<namespace>_*.log
			base := path.Base(p)
			ns, ok := strings.CutPrefix(base, "*_")
			ns, ok2 := strings.CutSuffix(ns, "_*.log")
			if !ok || !ok2 {
				return g, fmt.Errorf("exclude_path %q: not a namespace pattern", p)
			}
			g.ExcludedNamespaces = append(g.ExcludedNamespaces, ns)
		}
	}
	limit, err := str(es, "storage.total_limit_size")
	if err != nil {
		return g, err
	}
	if g.TotalLimitBytes, err = SizeBytes(limit); err != nil {
		return g, err
	}
	up, _ := doc.Service["storage.max_chunks_up"].(float64)
	g.MaxChunksUp = int(up)
	capS, _ := doc.Service["scheduler.cap"].(float64)
	g.SchedulerCap = int(capS)
	return g, nil
}

// SizeBytes reads a Fluent Bit size: K, M and G are powers of 1000
// (src/flb_utils.c, flb_utils_size_to_bytes).
func SizeBytes(s string) (int64, error) {
	mult := int64(1)
	num := strings.TrimSuffix(strings.ToUpper(s), "B")
	switch {
	case strings.HasSuffix(num, "K"):
		mult, num = 1000, strings.TrimSuffix(num, "K")
	case strings.HasSuffix(num, "M"):
		mult, num = 1000_000, strings.TrimSuffix(num, "M")
	case strings.HasSuffix(num, "G"):
		mult, num = 1000_000_000, strings.TrimSuffix(num, "G")
	}
	var n int64
	if _, err := fmt.Sscanf(num, "%d", &n); err != nil {
		return 0, fmt.Errorf("size %q: %v", s, err)
	}
	return n * mult, nil
}

// ForTest rewrites the keys of a generated configuration that name node
// paths or the LogScale address, and nothing else:
//
//	service.storage.path, service.parsers_file,
//	service.http_listen, service.http_port,
//	tail.path, tail.db, tail.exclude_path,
//	kubernetes.kube_tag_prefix (follows tail.path), kubernetes.kube_url,
//	kubernetes.kube_ca_file, kubernetes.kube_token_file (added),
//	es.host, es.port, es.tls, es.tls.verify.
//
// It returns the configuration and every change; a key it expects and does
// not find is an error, so a renamed key cannot slip through unrewritten.
func ForTest(generated []byte, p TestPaths) ([]byte, []Change, error) {
	var doc agentspec.PlainFluentBitConfig
	if err := yaml.UnmarshalStrict(generated, &doc); err != nil {
		return nil, nil, err
	}
	var changes []Change
	set := func(section string, m map[string]any, key string, to any, mustExist bool) error {
		from, ok := m[key]
		if mustExist && !ok {
			return fmt.Errorf("%s.%s is not in the generated configuration", section, key)
		}
		c := Change{Key: section + "." + key, To: fmt.Sprint(to)}
		if ok {
			c.From = fmt.Sprint(from)
		}
		m[key] = to
		changes = append(changes, c)
		return nil
	}
	tail, err := plugin(doc.Pipeline.Inputs, "tail")
	if err != nil {
		return nil, nil, err
	}
	k8s, err := plugin(doc.Pipeline.Filters, "kubernetes")
	if err != nil {
		return nil, nil, err
	}
	es, err := plugin(doc.Pipeline.Outputs, "es")
	if err != nil {
		return nil, nil, err
	}
	nodePath := func(v string) (string, error) {
		rest, ok := strings.CutPrefix(v, nodeLogDir+"/")
		if !ok {
			return "", fmt.Errorf("%q is not under %s", v, nodeLogDir)
		}
		return p.LogDir + "/" + rest, nil
	}
	tagPrefix := func(dir string) string {
		return "kube." + strings.ReplaceAll(strings.TrimPrefix(dir, "/"), "/", ".") + "."
	}

	steps := []func() error{
		func() error { return set("service", doc.Service, "storage.path", p.StoragePath, true) },
		func() error { return set("service", doc.Service, "parsers_file", p.Parsers, true) },
		func() error { return set("service", doc.Service, "http_listen", "127.0.0.1", true) },
		func() error { return set("service", doc.Service, "http_port", p.MetricsPort, true) },
		func() error {
			v, err := str(tail, "path")
			if err != nil {
				return err
			}
			nv, err := nodePath(v)
			if err != nil {
				return err
			}
			return set("tail", tail, "path", nv, true)
		},
		func() error { return set("tail", tail, "db", p.DB, true) },
		func() error {
			v, _ := tail["exclude_path"].(string)
			if v == "" {
				return nil
			}
			var out []string
			for _, e := range strings.Split(v, ",") {
				ne, err := nodePath(e)
				if err != nil {
					return err
				}
				out = append(out, ne)
			}
			return set("tail", tail, "exclude_path", strings.Join(out, ","), true)
		},
		func() error {
			v, err := str(k8s, "kube_tag_prefix")
			if err != nil {
				return err
			}
			if want := tagPrefix(nodeLogDir); v != want {
				return fmt.Errorf("kubernetes.kube_tag_prefix %q does not follow the tail path (%q)", v, want)
			}
			return set("kubernetes", k8s, "kube_tag_prefix", tagPrefix(p.LogDir), true)
		},
		func() error { return set("kubernetes", k8s, "kube_url", p.KubeURL, false) },
		func() error { return set("kubernetes", k8s, "kube_ca_file", p.KubeCAFile, false) },
		func() error { return set("kubernetes", k8s, "kube_token_file", p.KubeTokenFile, false) },
		func() error { return set("es", es, "host", "127.0.0.1", true) },
		func() error { return set("es", es, "port", p.ReceiverPort, true) },
		func() error { return set("es", es, "tls", false, true) },
		func() error { return set("es", es, "tls.verify", false, true) },
	}
	for _, s := range steps {
		if err := s(); err != nil {
			return nil, nil, err
		}
	}
	out, err := yaml.Marshal(doc)
	if err != nil {
		return nil, nil, err
	}
	return out, changes, nil
}

// Differences lists the keys (section.key, plugins by name) whose values
// differ between two configurations, for checking that ForTest changed
// nothing but what it reports.
func Differences(a, b []byte) ([]string, error) {
	var da, db agentspec.PlainFluentBitConfig
	if err := yaml.UnmarshalStrict(a, &da); err != nil {
		return nil, err
	}
	if err := yaml.UnmarshalStrict(b, &db); err != nil {
		return nil, err
	}
	var out []string
	cmp := func(section string, x, y map[string]any) {
		keys := map[string]bool{}
		for k := range x {
			keys[k] = true
		}
		for k := range y {
			keys[k] = true
		}
		for k := range keys {
			if !reflect.DeepEqual(x[k], y[k]) {
				out = append(out, section+"."+k)
			}
		}
	}
	cmp("service", da.Service, db.Service)
	lists := [][2][]map[string]any{
		{da.Pipeline.Inputs, db.Pipeline.Inputs},
		{da.Pipeline.Filters, db.Pipeline.Filters},
		{da.Pipeline.Outputs, db.Pipeline.Outputs},
	}
	for _, l := range lists {
		if len(l[0]) != len(l[1]) {
			return nil, fmt.Errorf("different plugin counts")
		}
		for i := range l[0] {
			name, _ := l[0][i]["name"].(string)
			if l[1][i]["name"] != name {
				return nil, fmt.Errorf("plugin %d: %v vs %v", i, name, l[1][i]["name"])
			}
			cmp(name, l[0][i], l[1][i])
		}
	}
	sort.Strings(out)
	return out, nil
}
