//go:build logagent

package logagent

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/yaml"

	"github.com/cnplatform/platform/components/logging/agentspec"
	"github.com/cnplatform/platform/components/monitoring/promrule"
)

// repoRoot holds the stack files, cmd/plan, components/ and .tools/.
const repoRoot = "../.."

// The scale the scenarios run at on 2 cores in under six minutes;
// docs/logging.md says what each proves at this scale.
const (
	steadyRate     = 500 // lines/s
	steadyDuration = 8 * time.Second

	outageRate   = 1000
	outageLead   = 5 * time.Second
	outageLength = 45 * time.Second
	outageTrail  = 5 * time.Second
	// restart: the agent is stopped this far into the outage and started
	// again restartDown later; the writer keeps writing meanwhile.
	restartAfter = 15 * time.Second
	restartDown  = 5 * time.Second

	burstRate      = 20000
	burstDuration  = 30 * time.Second
	burstItemBytes = 400 // reply bytes per document: 0.85-2.4 MB replies

	// overflow: the outage writes about overflowFactor times what
	// storage.total_limit_size holds.
	overflowLength = 40 * time.Second
	overflowFactor = 2.0

	exclusionRate     = 300
	exclusionDuration = 5 * time.Second

	scrapeEvery = time.Second
	// logGroup is the rule group of the log pipeline alerts.
	logGroup = "platform-log-pipeline"
	appNS    = "apps"
)

// serviceKeys are the `service` keys Fluent Bit v5.0.9 knows, checked
// against fluent/fluent-bit v5.0.9 (a1e05fc) include/fluent-bit/flb_config.h
// and src/flb_config.c: the agent accepts unknown service keys silently, so
// a key outside this list must be checked there before it is added.
var serviceKeys = map[string]bool{
	"flush": true, "grace": true, "daemon": true, "log_file": true, "log_level": true, "parsers_file": true,
	"http_server": true, "http_listen": true, "http_port": true, "health_check": true,
	"hc_errors_count": true, "hc_retry_failure_count": true, "hc_period": true,
	"storage.path": true, "storage.sync": true, "storage.metrics": true, "storage.checksum": true,
	"storage.backlog.mem_limit": true, "storage.max_chunks_up": true, "storage.delete_irrecoverable_chunks": true,
	"storage.trim_files": true, "scheduler.cap": true, "scheduler.base": true,
}

// nonAgentMetrics are the metrics the log pipeline's rules and dashboard
// take from elsewhere: Prometheus's own `up` and kube-state-metrics.
var nonAgentMetrics = map[string]bool{
	"up": true, "kube_daemonset_status_desired_number_scheduled": true, "kube_daemonset_status_current_number_scheduled": true,
}

var (
	summaryMu sync.Mutex
	summaries = map[string]string{}
	// largestRequest is the largest decompressed request of any scenario.
	largestRequest int
	measures       []string
)

func TestMain(m *testing.M) {
	ctrllog.SetLogger(logr.Discard())
	code := m.Run()
	var names []string
	for n := range summaries {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Println(summaries[n])
	}
	sort.Strings(measures)
	for _, m := range measures {
		fmt.Println(m)
	}
	os.Exit(code)
}

// harness is what every scenario shares.
type harness struct {
	bin, parsers, promtool string
	kube                   *Kube
}

func TestLogAgent(t *testing.T) {
	started := time.Now()
	bin, parsers, err := FindBinary(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	toolsBin, err := filepath.Abs(filepath.Join(repoRoot, ".tools", "bin"))
	require.NoError(t, err)
	for _, tool := range []string{"kube-apiserver", "etcd", "promtool"} {
		if _, err := os.Stat(filepath.Join(toolsBin, tool)); err != nil {
			t.Fatalf("%s not found in %s: run ./scripts/log-agent-test (it installs it with ./scripts/kube-tools.sh and ./scripts/tools.sh)", tool, toolsBin)
		}
	}
	version, err := Version(bin)
	require.NoError(t, err)

	work := t.TempDir()
	stacks, without, err := RenderStacks(repoRoot, work)
	require.NoError(t, err)
	require.NotEmpty(t, stacks, "no stack runs Fluent Bit")
	for _, s := range without {
		t.Logf("stack %s runs no Fluent Bit (logging off or Fluentd): nothing to run", s)
	}
	for _, s := range stacks {
		require.Equal(t, s.ImageTag, version, "stack %s runs image %s; the agent under test (%s) is v%s", s.Name, s.ImageTag, bin, version)
	}
	for _, s := range stacks {
		require.Equal(t, stacks[0].AgentRules, s.AgentRules, "every stack's chart grants the agent the same API access")
	}
	kube, err := StartKube(toolsBin, work, stacks[0].AgentRules)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, kube.Stop()) })
	h := &harness{bin: bin, parsers: parsers, promtool: filepath.Join(toolsBin, "promtool"), kube: kube}
	t.Logf("agent %s (v%s), %d stacks, kube-apiserver %s", bin, version, len(stacks), kube.URL)

	t.Run("configs", func(t *testing.T) {
		for _, s := range stacks {
			t.Run(s.Name, func(t *testing.T) { h.checkConfig(t, s) })
		}
	})

	pick := func(preferred string, ok func(Stack) bool) Stack {
		for _, s := range stacks {
			if s.Name == preferred && ok(s) {
				return s
			}
		}
		for _, s := range stacks {
			if ok(s) {
				return s
			}
		}
		t.Fatalf("no stack fits (wanted %s)", preferred)
		return Stack{}
	}
	anyStack := func(Stack) bool { return true }
	excludes := func(s Stack) bool { g, err := Inspect(s.Config); return err == nil && len(g.ExcludedNamespaces) > 0 }
	smallest := stacks[0]
	for _, s := range stacks {
		a, _ := Inspect(s.Config)
		b, _ := Inspect(smallest.Config)
		if a.TotalLimitBytes < b.TotalLimitBytes {
			smallest = s
		}
	}

	// The burst needs the CPU to itself; the others mostly wait, the two
	// rotations aside, which take about half a core each (the one that
	// measures is held to the share its request gives it).
	t.Run("burst", func(t *testing.T) { h.burst(t, pick("dev", anyStack)) })
	t.Run("scenarios", func(t *testing.T) {
		t.Run("rotation", func(t *testing.T) { t.Parallel(); h.rotation(t, pick("prod", anyStack), false) })
		t.Run("rotation-outage", func(t *testing.T) { t.Parallel(); h.rotation(t, pick("prod", anyStack), true) })
		for _, s := range stacks {
			t.Run("steady-"+s.Name, func(t *testing.T) { t.Parallel(); h.steady(t, s) })
		}
		t.Run("exclusion", func(t *testing.T) { t.Parallel(); h.exclusion(t, pick("local", excludes)) })
		t.Run("outage", func(t *testing.T) { t.Parallel(); h.outage(t, pick("prod", anyStack), false) })
		t.Run("restart", func(t *testing.T) { t.Parallel(); h.outage(t, pick("staging", anyStack), true) })
		t.Run("overflow", func(t *testing.T) { t.Parallel(); h.overflow(t, smallest) })
		t.Run("partial-rejection", func(t *testing.T) { t.Parallel(); h.partialRejection(t, pick("dev", anyStack)) })
		t.Run("too-large", func(t *testing.T) { t.Parallel(); h.tooLarge(t, pick("local", anyStack)) })
		t.Run("kill", func(t *testing.T) { t.Parallel(); h.kill(t, pick("staging", anyStack)) })
	})
	maxRequest(t, largestRequest)
	t.Logf("log-agent test took %s", time.Since(started).Round(time.Second))
}

// checkConfig: the generated configuration differs from the test's copy
// only in the keys ForTest lists, the agent accepts it (`--dry-run` rejects
// unknown input, filter and output keys), and every service key is one
// v5.0.9 knows.
func (h *harness) checkConfig(t *testing.T, s Stack) {
	dir := t.TempDir()
	cfg, changes := h.rewrite(t, s, dir, 0, 0)
	var keys []string
	for _, c := range changes {
		keys = append(keys, c.Key)
		t.Logf("%s: %s", s.Name, c)
	}
	sort.Strings(keys)
	diff, err := Differences(s.Config, cfg)
	require.NoError(t, err)
	assert.Equal(t, keys, diff, "the test's copy differs from the generated configuration in exactly the rewritten keys")

	path := filepath.Join(dir, "fluent-bit.yaml")
	require.NoError(t, os.WriteFile(path, cfg, 0o644))
	out, err := exec.Command(h.bin, "--dry-run", "-c", path).CombinedOutput()
	require.NoError(t, err, "fluent-bit --dry-run rejects the configuration of stack %s:\n%s", s.Name, out)

	var doc agentspec.PlainFluentBitConfig
	require.NoError(t, yaml.Unmarshal(s.Config, &doc))
	for k := range doc.Service {
		assert.True(t, serviceKeys[strings.ToLower(k)], "service key %q is not one Fluent Bit v5.0.9 knows (it would be ignored silently)", k)
	}
	checkDaemonSet(t, s, doc)
}

// checkDaemonSet: the chart's DaemonSet, rendered with our values, runs
// this configuration, and every path in it exists in the pod.
func checkDaemonSet(t *testing.T, s Stack, doc agentspec.PlainFluentBitConfig) {
	c, err := s.AgentContainer()
	require.NoError(t, err)
	type mount struct {
		path      string
		hostPath  bool
		readOnly  bool
		configMap string
	}
	var mounts []mount
	for _, m := range c.VolumeMounts {
		for _, v := range s.DaemonSet.Spec.Template.Spec.Volumes {
			if v.Name != m.Name {
				continue
			}
			mt := mount{path: m.MountPath, readOnly: m.ReadOnly, hostPath: v.HostPath != nil}
			if v.ConfigMap != nil {
				mt.configMap = v.ConfigMap.Name
			}
			mounts = append(mounts, mt)
		}
	}
	var configDir string
	for _, m := range mounts {
		if m.configMap == agentConfigMap {
			configDir = m.path
		}
	}
	require.NotEmpty(t, configDir, "the DaemonSet mounts the ConfigMap %s", agentConfigMap)
	assert.Contains(t, c.Args, "--config="+configDir+"/"+agentConfigKey, "the agent runs the generated configuration")
	on := func(p string) *mount {
		for i, m := range mounts {
			if m.hostPath && strings.HasPrefix(p, strings.TrimSuffix(m.path, "/")+"/") {
				return &mounts[i]
			}
		}
		return nil
	}
	tail, err := plugin(doc.Pipeline.Inputs, "tail")
	require.NoError(t, err)
	for what, p := range map[string]any{"service.storage.path": doc.Service["storage.path"], "tail.db": tail["db"]} {
		m := on(fmt.Sprint(p))
		if assert.NotNil(t, m, "%s %v is on no hostPath mount: the buffer would not survive the pod", what, p) {
			assert.False(t, m.readOnly, "%s %v is on a read-only mount", what, p)
		}
	}
	assert.NotNil(t, on(fmt.Sprint(tail["path"])), "tail.path %v is on no hostPath mount", tail["path"])
	port := -1
	for _, p := range c.Ports {
		if p.Name == s.MetricsPortName {
			port = p.ContainerPort
		}
	}
	assert.Equal(t, doc.Service["http_port"], float64(port), "the ServiceMonitor scrapes port %q, the agent's HTTP server", s.MetricsPortName)
	g, err := Inspect(s.Config)
	require.NoError(t, err)
	var env []string
	for _, e := range c.Env {
		env = append(env, e.Name)
	}
	assert.Contains(t, env, g.PasswordEnv, "the token's environment variable is set in the container")
}

// rewrite makes the test's copy of a stack's configuration.
func (h *harness) rewrite(t *testing.T, s Stack, dir string, metricsPort, receiverPort int) ([]byte, []Change) {
	t.Helper()
	logDir := filepath.Join(dir, "containers")
	require.NoError(t, os.MkdirAll(logDir, 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "buffer"), 0o755))
	cfg, changes, err := ForTest(s.Config, TestPaths{
		LogDir:        logDir,
		StoragePath:   filepath.Join(dir, "buffer", "flb-storage") + "/",
		DB:            filepath.Join(dir, "buffer", "tail-containers.db"),
		Parsers:       h.parsers,
		MetricsPort:   metricsPort,
		ReceiverPort:  receiverPort,
		KubeURL:       h.kube.URL,
		KubeCAFile:    h.kube.CAFile,
		KubeTokenFile: h.kube.TokenFile,
	})
	require.NoError(t, err)
	return cfg, changes
}

// run is one scenario: a receiver, one agent with a stack's configuration,
// writers, and the agent's metrics scraped every second.
type run struct {
	t       *testing.T
	h       *harness
	name    string
	stack   Stack
	gen     Generated
	dir     string
	logDir  string
	storage string
	rcv     *Receiver
	agent   *Agent
	cluster string

	mu      sync.Mutex
	scrapes []Scrape
	health  map[int]int
	stop    chan struct{}
	stopped chan struct{}
}

func (h *harness) newRun(t *testing.T, name string, s Stack) *run {
	dir := t.TempDir()
	gen, err := Inspect(s.Config)
	require.NoError(t, err)
	tok := make([]byte, 16)
	_, _ = rand.Read(tok)
	token := hex.EncodeToString(tok)
	rcv, err := NewReceiver(gen.User, token, gen.Index)
	require.NoError(t, err)
	t.Cleanup(rcv.Close)
	port, err := FreePort()
	require.NoError(t, err)
	cfg, _ := h.rewrite(t, s, dir, port, rcv.Port())
	cfgPath := filepath.Join(dir, "fluent-bit.yaml")
	require.NoError(t, os.WriteFile(cfgPath, cfg, 0o644))
	r := &run{
		t: t, h: h, name: name, stack: s, gen: gen, dir: dir,
		logDir: filepath.Join(dir, "containers"), storage: filepath.Join(dir, "buffer", "flb-storage"),
		rcv: rcv, cluster: clusterField(t, s.Config), health: map[int]int{},
		agent: &Agent{Bin: h.bin, Config: cfgPath, LogPath: filepath.Join(dir, "fluent-bit.log"),
			Env: []string{gen.PasswordEnv + "=" + token}, MetricsAddr: fmt.Sprintf("127.0.0.1:%d", port)},
	}
	t.Cleanup(r.agent.Kill)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("agent log (%s) ends:\n%s", r.agent.LogPath, r.agent.Tail(40))
		}
	})
	return r
}

// newPodRun is a run named name with one pod, loggen-<name> in the apps
// namespace, and its labels.
func (h *harness) newPodRun(t *testing.T, name string, s Stack) (*run, ContainerLog, map[string]string) {
	return h.newRun(t, name, s), ContainerLog{Pod: "loggen-" + name, Namespace: appNS, Container: "app"}, podLabels(name)
}

// clusterField is the value the modify filter adds as `cluster`.
func clusterField(t *testing.T, cfg []byte) string {
	var doc struct {
		Pipeline struct {
			Filters []map[string]any `json:"filters"`
		} `json:"pipeline"`
	}
	require.NoError(t, yaml.Unmarshal(cfg, &doc))
	for _, f := range doc.Pipeline.Filters {
		if add, _ := f["add"].(string); f["name"] == "modify" && strings.HasPrefix(add, "cluster ") {
			return strings.TrimPrefix(add, "cluster ")
		}
	}
	t.Fatalf("the configuration adds no cluster field (modify filter `add: cluster <name>`)")
	return ""
}

// podLabels are the labels of a typical Deployment's pod: the kubernetes
// filter copies them into every record, so they count in what a line
// takes in the buffer.
func podLabels(instance string) map[string]string {
	return map[string]string{
		"app.kubernetes.io/name":      "loggen",
		"app.kubernetes.io/instance":  "loggen-" + instance,
		"app.kubernetes.io/version":   "1.0.0",
		"app.kubernetes.io/component": "api",
		"app.kubernetes.io/part-of":   "shop",
		"pod-template-hash":           "7d9f8c6b5",
	}
}

// writer creates the pod in the API server and its (empty) log file.
func (r *run) writer(c ContainerLog, labels, annotations map[string]string) *Writer {
	require.NoError(r.t, r.h.kube.Pod(c, labels, annotations))
	w, err := NewWriter(r.logDir, c, c.Namespace+"/"+c.Pod, int(agentspec.SizingLineBytes))
	require.NoError(r.t, err)
	return w
}

// start runs the agent and the scraper.
func (r *run) start() {
	require.NoError(r.t, r.agent.Start())
	r.stop, r.stopped = make(chan struct{}), make(chan struct{})
	go r.scrapeLoop()
	r.t.Cleanup(r.stopScraping)
}

func (r *run) scrapeLoop() {
	defer close(r.stopped)
	t := time.NewTicker(scrapeEvery)
	defer t.Stop()
	for {
		sc := Scrape{At: time.Now()}
		if code, body, err := r.agent.Get(agentspec.FluentBitMetricsPath); err == nil && code == 200 {
			if s, err := ParseExposition(body); err == nil {
				sc.OK, sc.Samples = true, s
			}
		}
		code, _, _ := r.agent.Get(agentspec.FluentBitHealthPath)
		r.mu.Lock()
		r.scrapes = append(r.scrapes, sc)
		r.health[code]++
		r.mu.Unlock()
		select {
		case <-r.stop:
			return
		case <-t.C:
		}
	}
}

func (r *run) stopScraping() {
	select {
	case <-r.stop:
	default:
		close(r.stop)
	}
	<-r.stopped
}

// mark is the index of the latest scrape: a minute of rule time.
func (r *run) mark() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.scrapes) - 1
}

// healthCodes counts the HTTP statuses /api/v1/health answered so far.
func (r *run) healthCodes() map[int]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.health)
}

func (r *run) lastScrape() Scrape {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.scrapes[len(r.scrapes)-1]
}

// metric sums the samples of name with the given labels in a scrape.
func metric(sc Scrape, name string, labels map[string]string) (float64, bool) {
	sum, found := 0.0, false
outer:
	for _, s := range sc.Samples {
		if s.Name != name {
			continue
		}
		for k, v := range labels {
			if s.Labels[k] != v {
				continue outer
			}
		}
		sum, found = sum+s.Value, true
	}
	return sum, found
}

// fresh scrapes the agent now. Fluent Bit answers 404 while it holds no
// metrics snapshot (fluent/fluent-bit src/http_server/api/v2/metrics.c:
// metrics_get_latest returns NULL, cb_metrics_prometheus sets 404), which
// happens for a moment under load; Prometheus would record a failed
// scrape. fresh tries again for up to 5 s.
func (r *run) fresh() Scrape {
	var code, notFound int
	var body string
	var err error
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		code, body, err = r.agent.Get(agentspec.FluentBitMetricsPath)
		if err != nil || code != 404 || time.Now().After(deadline) {
			break
		}
		notFound++
	}
	if notFound > 0 {
		r.t.Logf("metrics: %d scrapes answered 404 (no snapshot yet), then %d", notFound, code)
	}
	require.NoError(r.t, err)
	require.Equal(r.t, 200, code)
	s, err := ParseExposition(body)
	require.NoError(r.t, err)
	return Scrape{At: time.Now(), OK: true, Samples: s}
}

// waitFor polls cond every 100 ms until it holds or timeout passes.
func waitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// allBelow: every line with a sequence number below n has arrived.
func (r *run) allBelow(w *Writer, n int64) func() bool {
	next := int64(0)
	return func() bool {
		for next < n && r.rcv.Has(w.Src, next) {
			next++
		}
		return next >= n
	}
}

// settle waits until nothing more arrives for quiet, so late duplicates are
// counted too.
func (r *run) settle(quiet time.Duration) {
	last := r.rcv.Stats().Docs
	since := time.Now()
	for time.Since(since) < quiet {
		time.Sleep(200 * time.Millisecond)
		if d := r.rcv.Stats().Docs; d != last {
			last, since = d, time.Now()
		}
	}
}

// result reports a scenario's summary line and returns its counts.
func (r *run) result(w *Writer, catchup time.Duration) (written, unique, lost, dups int64) {
	written = w.Written()
	unique, dups = r.rcv.Count(w.Src)
	lost = written - unique
	line := fmt.Sprintf("logs: scenario=%s written=%d received=%d lost=%d duplicates=%d catchup_s=%d peak_rss_mib=%d",
		r.name, written, unique, lost, dups, int(math.Ceil(catchup.Seconds())), int(math.Ceil(r.agent.PeakRSSMiB())))
	st := r.rcv.Stats()
	summaryMu.Lock()
	summaries[r.name] = line
	largestRequest = max(largestRequest, st.MaxBodyBytes)
	summaryMu.Unlock()
	r.t.Log(line)
	assert.Empty(r.t, st.ProtocolErrors, "the receiver refused requests")
	assert.Equal(r.t, st.Requests, st.Gzipped, "every request is gzip-compressed (compress gzip)")
	for p := range st.Paths {
		assert.Contains(r.t, BulkPaths, p)
	}
	return written, unique, lost, dups
}

// checkMetadata: documents carry the cluster field and the pod's metadata
// from the API server (its labels exist nowhere else).
func (r *run) checkMetadata(w *Writer, c ContainerLog, labels map[string]string) {
	d, ok := r.rcv.Sample(w.Src)
	require.True(r.t, ok, "no document from %s", w.Src)
	assert.Equal(r.t, r.cluster, d.Cluster, "cluster field")
	assert.Equal(r.t, c.Namespace, d.Namespace, "kubernetes.namespace_name")
	assert.Equal(r.t, c.Pod, d.Pod, "kubernetes.pod_name")
	assert.Equal(r.t, c.Container, d.Container, "kubernetes.container_name")
	for k, v := range labels {
		assert.Equal(r.t, v, d.PodLabels[k], "kubernetes.labels.%s (read from the kube-apiserver)", k)
	}
	assert.True(r.t, d.HasMessage, "the JSON log line is merged into the document (merge_log)")
}

// target is what Prometheus adds to the agent's series through our
// ServiceMonitor.
func (r *run) target() map[string]string {
	return map[string]string{"job": r.stack.Job, "namespace": r.stack.Namespace, "pod": "fluent-bit-" + r.name,
		"instance": r.agent.MetricsAddr, "container": "fluent-bit", "endpoint": "http", "service": "fluent-bit", "node": "node-" + r.name}
}

// alerts replays the scrapes into the stack's log pipeline rules with
// promtool and checks the expectations.
func (r *run) alerts(exps []Expectation) {
	t := r.t
	group, err := LogRules(r.stack.Rules, logGroup)
	require.NoError(t, err)
	var exprs []string
	for _, rule := range group.Rules {
		exprs = append(exprs, rule.Expr)
	}
	rules, err := yaml.Marshal(promrule.File{Groups: []promrule.Group{WithoutAnnotations(group)}})
	require.NoError(t, err)
	r.mu.Lock()
	scrapes := append([]Scrape(nil), r.scrapes...)
	r.mu.Unlock()
	test, err := PromtoolTest("log-rules.yaml", scrapes, r.target(), MetricNames(exprs...), exps)
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "log-rules.yaml"), rules, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "replay.test.yaml"), test, 0o644))
	cmd := exec.Command(r.h.promtool, "test", "rules", "replay.test.yaml")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	assert.NoError(t, err, "promtool test rules over the scraped series (%s):\n%s", dir, out)
	if err != nil {
		_ = os.WriteFile(filepath.Join(os.TempDir(), "logagent-"+r.name+".test.yaml"), test, 0o644)
	}
}

// silentAt expects every log pipeline alert to be silent at minute m.
func (r *run) silentAt(m int) []Expectation {
	group, err := LogRules(r.stack.Rules, logGroup)
	require.NoError(r.t, err)
	var out []Expectation
	for _, a := range AlertNames(group) {
		out = append(out, Expectation{At: m, Alert: a})
	}
	return out
}

func (r *run) firing(m int, alert string, severities ...string) Expectation {
	e := Expectation{At: m, Alert: alert}
	for _, s := range severities {
		e.Firing = append(e.Firing, map[string]string{"severity": s, "namespace": r.stack.Namespace, "pod": "fluent-bit-" + r.name, "name": "es.0"})
	}
	return e
}

func (h *harness) steady(t *testing.T, s Stack) {
	r := h.newRun(t, "steady-"+s.Name, s)
	c := ContainerLog{Pod: "loggen-steady-" + s.Name, Namespace: appNS, Container: "app"}
	labels := podLabels("steady-" + s.Name)
	w := r.writer(c, labels, nil)
	r.start()
	require.NoError(t, w.Run(context.Background(), steadyRate, steadyDuration))
	end := time.Now()
	require.True(t, waitFor(60*time.Second, r.allBelow(w, w.Written())), "not every line arrived within 60 s")
	catchup := time.Since(end)
	r.settle(3 * time.Second)
	written, _, lost, dups := r.result(w, catchup)
	assert.Equal(t, int64(steadyRate*steadyDuration/time.Second), written)
	assert.Zero(t, lost)
	assert.Zero(t, dups)
	r.checkMetadata(w, c, labels)
	r.stopScraping()

	// Every metric our rules and dashboard use is one the agent serves.
	group, err := LogRules(s.Rules, logGroup)
	require.NoError(t, err)
	var exprs []string
	for _, rule := range group.Rules {
		exprs = append(exprs, rule.Expr)
	}
	exprs = append(exprs, dashboardExprs(t, s.Dashboard)...)
	served := map[string]bool{}
	for _, smp := range r.lastScrape().Samples {
		served[smp.Name] = true
	}
	names := MetricNames(exprs...)
	require.NotEmpty(t, names)
	for _, n := range names {
		if strings.HasPrefix(n, "fluentbit_") {
			assert.True(t, served[n], "%s is used by the log rules or dashboard but Fluent Bit v5.0.9 does not serve it", n)
		} else {
			assert.True(t, nonAgentMetrics[n], "%s is used by the log rules or dashboard and is neither the agent's nor a known exporter's", n)
		}
	}
	r.alerts(r.silentAt(r.mark()))
}

func dashboardExprs(t *testing.T, raw []byte) []string {
	var v any
	require.NoError(t, json.Unmarshal(raw, &v))
	var out []string
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if s, ok := e.(string); ok && k == "expr" {
					out = append(out, s)
				}
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
	require.NotEmpty(t, out, "the log pipeline dashboard has queries")
	return out
}

// exclusion: lines of an excluded namespace and of a pod annotated
// fluentbit.io/exclude never reach LogScale; a neighbour's lines do.
func (h *harness) exclusion(t *testing.T, s Stack) {
	r := h.newRun(t, "exclusion", s)
	require.NotEmpty(t, r.gen.ExcludedNamespaces)
	shipped := ContainerLog{Pod: "loggen-shipped", Namespace: appNS, Container: "app"}
	inExcluded := ContainerLog{Pod: "loggen-excluded-ns", Namespace: r.gen.ExcludedNamespaces[0], Container: "app"}
	annotated := ContainerLog{Pod: "loggen-annotated", Namespace: appNS, Container: "app"}
	labels := podLabels("exclusion")
	ws := r.writer(shipped, labels, nil)
	wn := r.writer(inExcluded, labels, nil)
	wa := r.writer(annotated, labels, map[string]string{"fluentbit.io/exclude": "true"})
	r.start()
	var wg sync.WaitGroup
	for _, w := range []*Writer{ws, wn, wa} {
		wg.Add(1)
		go func(w *Writer) {
			defer wg.Done()
			assert.NoError(t, w.Run(context.Background(), exclusionRate, exclusionDuration))
		}(w)
	}
	wg.Wait()
	end := time.Now()
	require.True(t, waitFor(60*time.Second, r.allBelow(ws, ws.Written())), "the shipped pod's lines did not all arrive")
	catchup := time.Since(end)
	r.settle(3 * time.Second)
	_, _, lost, dups := r.result(ws, catchup)
	assert.Zero(t, lost)
	assert.Zero(t, dups)
	for _, w := range []*Writer{wn, wa} {
		u, _ := r.rcv.Count(w.Src)
		assert.Zero(t, u, "%d of %d lines of %s reached the receiver", u, w.Written(), w.Src)
		assert.Positive(t, w.Written())
	}
	assert.ElementsMatch(t, []string{ws.Src}, r.rcv.Streams(), "only the shipped pod's stream arrives")
}

// retryWaits are the back-off waits the agent logged ("retry in N seconds").
var retryWait = regexp.MustCompile(`retry in (\d+) seconds`)

func retryWaits(t *testing.T, log string) []int {
	b, err := os.ReadFile(log)
	require.NoError(t, err)
	var out []int
	for _, m := range retryWait.FindAllStringSubmatch(string(b), -1) {
		n, _ := strconv.Atoi(m[1])
		out = append(out, n)
	}
	return out
}

// chunkFileBytes sums the sizes of the buffer's chunk files.
func chunkFileBytes(dir string) int64 {
	var n int64
	_ = filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() && strings.HasSuffix(p, ".flb") {
			n += info.Size()
		}
		return nil
	})
	return n
}

// outage: LogScale is down for outageLength while the writer goes on;
// with restart, the agent is stopped and started again during it, on the
// same storage and tail database.
func (h *harness) outage(t *testing.T, s Stack, restart bool) {
	name := "outage"
	if restart {
		name = "restart"
	}
	r, c, labels := h.newPodRun(t, name, s)
	w := r.writer(c, labels, nil)
	r.start()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx, outageRate, outageLead+outageLength+outageTrail) }()

	time.Sleep(outageLead)
	require.NoError(t, r.rcv.Down())
	beforeOutage := r.mark()
	down := time.Now()
	if restart {
		time.Sleep(restartAfter)
		require.NoError(t, r.agent.Stop())
		time.Sleep(restartDown)
		require.NoError(t, r.agent.Start(), "the agent starts again on the same storage and database")
		time.Sleep(outageLength - restartAfter - restartDown)
	} else {
		time.Sleep(outageLength)
	}
	inOutage := r.mark()
	// What one line costs in the buffer: the chunk bytes storage.total_limit_size
	// counts, from the agent's own gauge, over the lines not yet delivered.
	sc := r.fresh()
	pct, ok := metric(sc, "fluentbit_output_chunk_available_capacity_percent", map[string]string{"name": "es.0"})
	require.True(t, ok)
	unique, _ := r.rcv.Count(w.Src)
	buffered := w.Written() - unique
	bufBytes := (100 - pct) / 100 * float64(r.gen.TotalLimitBytes)
	fileBytes := chunkFileBytes(r.storage)
	health := r.healthCodes()

	require.NoError(t, r.rcv.Up())
	up := time.Now()
	writtenAtUp := w.Written()
	require.True(t, waitFor(3*outageLength, r.allBelow(w, writtenAtUp)), "the lines written before LogScale came back did not all arrive within %s", 3*outageLength)
	catchup := time.Since(up)
	require.NoError(t, <-done)
	require.True(t, waitFor(60*time.Second, r.allBelow(w, w.Written())), "not every line arrived")
	r.settle(5 * time.Second)
	_, _, lost, dups := r.result(w, catchup)
	assert.Zero(t, lost, "lines lost")
	assert.Zero(t, dups, "duplicates")
	assert.LessOrEqual(t, catchup, up.Sub(down), "catching up took longer than the outage lasted")
	r.checkMetadata(w, c, labels)

	if !restart {
		perLine := bufBytes / float64(buffered)
		logMeasure(t, "buffer_bytes_per_line=%.0f (file bytes %.0f, lines of %d bytes) buffer_mb_per_outage_minute_per_1000_lines_s=%.1f lines_buffered=%d health_codes_during_outage=%v",
			perLine, float64(fileBytes)/float64(buffered), agentspec.SizingLineBytes, perLine*60*1000/1e6, buffered, health)
		assert.LessOrEqual(t, perLine, float64(agentspec.BufferBytesPerLine)*1.1,
			"a %d-byte line takes %.0f bytes in the buffer, more than the %d the buffer sizing assumes (components/logging/agentspec BufferBytesPerLine)", agentspec.SizingLineBytes, perLine, agentspec.BufferBytesPerLine)
		assert.GreaterOrEqual(t, perLine, float64(agentspec.BufferBytesPerLine)*0.8,
			"a %d-byte line takes %.0f bytes in the buffer, far less than the %d the buffer sizing assumes: update BufferBytesPerLine", agentspec.SizingLineBytes, perLine, agentspec.BufferBytesPerLine)
		waits := retryWaits(t, r.agent.LogPath)
		require.NotEmpty(t, waits, "the agent retried during the outage")
		sort.Ints(waits)
		assert.LessOrEqual(t, waits[len(waits)-1], r.gen.SchedulerCap+1, "scheduler.cap %d bounds every retry wait", r.gen.SchedulerCap)
		logMeasure(t, "outage catchup_s=%.1f outage_s=%.0f retry_wait_max_s=%d scheduler.cap=%d", catchup.Seconds(), up.Sub(down).Seconds(), waits[len(waits)-1], r.gen.SchedulerCap)

		r.stopScraping()
		var exps []Expectation
		exps = append(exps, r.silentAt(beforeOutage)...)
		exps = append(exps,
			r.firing(inOutage, "LogOutputStalled", "warning"),
			Expectation{At: inOutage, Alert: "LogRecordsDropped"},
			Expectation{At: inOutage, Alert: "LogOutputRetriesFailed"},
			Expectation{At: inOutage, Alert: "LogOutputErrors"},
			Expectation{At: inOutage, Alert: "LogAgentDown"},
		)
		r.alerts(exps)
	}
}

// burst: 20,000 lines/s for 30 s with large bulk replies.
func (h *harness) burst(t *testing.T, s Stack) {
	r := h.newRun(t, "burst", s)
	r.rcv.SetReplyItemBytes(burstItemBytes)
	c := ContainerLog{Pod: "loggen-burst", Namespace: appNS, Container: "app"}
	w := r.writer(c, podLabels("burst"), nil)
	r.start()
	began := time.Now()
	require.NoError(t, w.Run(context.Background(), burstRate, burstDuration))
	end := time.Now()
	wrote := end.Sub(began)
	require.True(t, waitFor(3*burstDuration, r.allBelow(w, w.Written())), "not every line arrived within %s", 3*burstDuration)
	catchup := time.Since(end)
	r.settle(5 * time.Second)
	written, _, lost, dups := r.result(w, catchup)
	assert.Zero(t, dups, "duplicates: a reply larger than buffer_size makes the agent send delivered chunks again")
	assert.Zero(t, lost)
	assert.InDelta(t, float64(burstRate), float64(written)/wrote.Seconds(), burstRate*0.05, "the writer kept the rate")
	st := r.rcv.Stats()
	assert.GreaterOrEqual(t, st.MaxReplyBytes, 850_000, "the burst produced the large replies it is meant to test")
	assert.Less(t, r.agent.PeakRSSMiB(), float64(s.MemoryLimitMiB), "peak memory within the container's limit")
	logMeasure(t, "burst peak_rss_mib=%.1f peak_anon_mib=%.1f limit_mib=%d max_reply_bytes=%d requests=%d catchup_s=%.1f",
		r.agent.PeakRSSMiB(), r.agent.PeakAnonMiB(), s.MemoryLimitMiB, st.MaxReplyBytes, st.Requests, catchup.Seconds())
}

// overflow: an outage longer than storage.total_limit_size holds. Fluent
// Bit drops the oldest chunks; the newest survive and arrive, and the agent
// counts exactly the lines that were lost.
func (h *harness) overflow(t *testing.T, s Stack) {
	r := h.newRun(t, "overflow", s)
	capacityLines := float64(r.gen.TotalLimitBytes) / float64(agentspec.BufferBytesPerLine)
	rate := int(math.Min(burstRate, math.Ceil(overflowFactor*capacityLines/overflowLength.Seconds())))
	c := ContainerLog{Pod: "loggen-overflow", Namespace: appNS, Container: "app"}
	w := r.writer(c, podLabels("overflow"), nil)
	r.start()
	const lead = 3 * time.Second
	require.NoError(t, w.Run(context.Background(), rate, lead))
	require.True(t, waitFor(30*time.Second, r.allBelow(w, w.Written())))
	firstInOutage := w.Written()
	require.NoError(t, r.rcv.Down())
	beforeOutage := r.mark()
	require.NoError(t, w.Run(context.Background(), rate, overflowLength))
	inOutage := r.mark()
	lastInOutage := w.Written()
	require.NoError(t, r.rcv.Up())
	up := time.Now()

	// Everything that survived arrives; the agent's buffer empties.
	require.True(t, waitFor(3*overflowLength, func() bool {
		sc := r.fresh()
		chunks, _ := metric(sc, "fluentbit_input_storage_chunks", nil)
		return chunks == 0
	}), "the buffer did not empty after LogScale came back")
	r.settle(5 * time.Second)
	catchup := r.rcv.Stats().LastDocAt.Sub(up)
	written, _, lost, dups := r.result(w, catchup)
	dropped, ok := metric(r.fresh(), "fluentbit_output_dropped_records_total", map[string]string{"name": "es.0"})
	require.True(t, ok)
	logMeasure(t, "overflow rate=%d lines/s limit_bytes=%d capacity_lines~%.0f written_in_outage=%d lost=%d dropped_metric=%.0f",
		rate, r.gen.TotalLimitBytes, capacityLines, lastInOutage-firstInOutage, lost, dropped)
	assert.Zero(t, dups)
	assert.Positive(t, lost, "the outage overflowed the buffer")
	assert.Equal(t, float64(lost), dropped, "fluentbit_output_dropped_records_total counts exactly the lost lines")
	missing := r.rcv.Missing(w.Src, written)
	require.NotEmpty(t, missing)
	assert.GreaterOrEqual(t, missing[0], firstInOutage, "nothing written before the outage is lost")
	// The newest lines the buffer can hold survive: what is dropped is
	// the oldest.
	keep := lastInOutage - int64(0.8*capacityLines)
	assert.Less(t, missing[len(missing)-1], keep, "a line among the newest %.0f of the outage was lost", 0.8*capacityLines)
	r.stopScraping()
	var exps []Expectation
	exps = append(exps, r.silentAt(beforeOutage)...)
	exps = append(exps,
		r.firing(inOutage, "LogRecordsDropped", "critical"),
		r.firing(inOutage, "LogBufferFilling", "warning", "critical"),
		r.firing(inOutage, "LogOutputStalled", "warning"),
	)
	r.alerts(exps)
}

// logMeasure logs a measurement and keeps it for the summary TestMain
// prints: the figures docs/logging.md quotes.
func logMeasure(t *testing.T, format string, args ...any) {
	line := fmt.Sprintf("logs: measured "+format, args...)
	t.Log(line)
	summaryMu.Lock()
	measures = append(measures, line)
	summaryMu.Unlock()
}
