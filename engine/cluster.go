// Package engine runs the platform's Pulumi programs through the real Pulumi
// engine against a real Kubernetes control plane without a container
// runtime: etcd, kube-apiserver, kube-controller-manager and kube-scheduler
// v1.37.2 (scripts/kube-tools.sh) and kwok v0.7.0, which plays the kubelet
// of three fake nodes in three zones, so workloads become ready and Jobs
// complete. The tests in this package are the engine test (README "Test").
package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/cnplatform/platform/components/podvalues"
	"github.com/cnplatform/platform/validation/controlplane"
)

// ClusterTools are the binaries StartCluster runs, all from one directory.
var ClusterTools = []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"}

// Zones of the fake nodes, one node each (until a node roll replaces
// them, RollZone): the zone spread of the workloads is scheduled for real.
var Zones = []string{"zone-a", "zone-b", "zone-c"}

// Cluster is a running control plane with fake nodes.
type Cluster struct {
	// Kubeconfig is a file with one context, Context, for an administrator.
	Kubeconfig string
	Context    string
	Config     *rest.Config
	Client     kubernetes.Interface

	env   *envtest.Environment
	procs []*process
}

type process struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan error
}

// StartCluster starts the control plane from binDir with its state and
// logs under dir, writes an administrator kubeconfig whose context is
// named context, and registers the fake nodes. It returns once every node
// is Ready and the default ServiceAccount exists (the controller-manager
// works).
func StartCluster(ctx context.Context, binDir, dir, context string) (c *Cluster, err error) {
	for _, t := range ClusterTools {
		if st, err := os.Stat(filepath.Join(binDir, t)); err != nil || st.IsDir() {
			return nil, fmt.Errorf("%s is missing from %s: run ./scripts/kube-tools.sh and ./scripts/engine-tools.sh", t, binDir)
		}
	}
	env := controlplane.Environment(binDir)
	cfg, err := env.Start()
	if err != nil {
		return nil, fmt.Errorf("start kube-apiserver and etcd from %s: %w", binDir, err)
	}
	c = &Cluster{env: env, Context: context, Kubeconfig: filepath.Join(dir, "kubeconfig")}
	defer func() {
		if err != nil {
			err = errors.Join(err, c.logTails())
			_ = c.Stop()
		}
	}()

	user, err := env.AddUser(envtest.User{Name: "engine-test", Groups: []string{"system:masters"}}, cfg)
	if err != nil {
		return c, fmt.Errorf("add administrator: %w", err)
	}
	if err := writeKubeconfig(user, c.Kubeconfig, context); err != nil {
		return c, err
	}
	c.Config = user.Config()
	if c.Client, err = kubernetes.NewForConfig(c.Config); err != nil {
		return c, err
	}

	// The controllers and kwok authenticate as the administrator (no
	// service-account signing key is shared with them: the legacy token
	// controller stays off, nothing here needs it).
	kc := "--kubeconfig=" + c.Kubeconfig
	stages, err := podStages(dir)
	if err != nil {
		return c, err
	}
	for _, p := range []struct {
		name string
		args []string
	}{
		{"kube-controller-manager", []string{kc, "--leader-elect=false", "--secure-port=0", "--controllers=*",
			"--concurrent-gc-syncs=5", "--node-monitor-grace-period=60s"}},
		{"kube-scheduler", []string{kc, "--leader-elect=false", "--secure-port=0"}},
		// kwok's built-in stages: nodes initialise and keep a lease; pods
		// become Ready, Job pods Succeeded; deleted pods go away after a
		// second (podStages).
		{"kwok", []string{kc, "--manage-all-nodes=true", "--node-lease-duration-seconds=40", "--cidr=10.244.0.0/16",
			"--config=" + stages}},
	} {
		proc, err := startProcess(filepath.Join(binDir, p.name), dir, p.args)
		if err != nil {
			return c, err
		}
		c.procs = append(c.procs, proc)
	}

	for _, zone := range Zones {
		if _, err := c.Client.CoreV1().Nodes().Create(ctx, fakeNode(zone, "kwok-"+zone), metav1.CreateOptions{}); err != nil {
			return c, fmt.Errorf("create node in %s: %w", zone, err)
		}
	}
	return c, c.waitReady(ctx, 2*time.Minute)
}

// fakeNode is a node kwok manages: a large amd64 Linux machine in zone.
func fakeNode(zone, name string) *corev1.Node {
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("32"),
		corev1.ResourceMemory: resource.MustParse("128Gi"),
		corev1.ResourcePods:   resource.MustParse("110"),
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name: name,
			Labels: map[string]string{
				podvalues.HostnameKey:           name,
				"kubernetes.io/os":              "linux",
				"kubernetes.io/arch":            "amd64",
				podvalues.ZoneKey:               zone,
				"topology.kubernetes.io/region": "engine-test",
				"type":                          "kwok",
			},
			Annotations: map[string]string{"kwok.x-k8s.io/node": "fake"},
		},
		Status: corev1.NodeStatus{Capacity: capacity, Allocatable: capacity},
	}
}

// waitReady waits for every node to be Ready (kwok) and for the default
// ServiceAccount (the controller-manager).
func (c *Cluster) waitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		if err := c.exited(); err != nil {
			return err
		}
		last = c.notReady(ctx)
		if last == "" {
			return nil
		}
		time.Sleep(time.Second)
	}
	return fmt.Errorf("cluster not ready after %s: %s", timeout, last)
}

func (c *Cluster) notReady(ctx context.Context) string {
	nodes, err := c.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return err.Error()
	}
	ready := 0
	for _, n := range nodes.Items {
		if nodeReady(n) {
			ready++
		}
	}
	if ready != len(Zones) {
		return fmt.Sprintf("%d of %d nodes Ready (kwok)", ready, len(Zones))
	}
	if _, err := c.Client.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{}); err != nil {
		return "no default ServiceAccount yet (kube-controller-manager): " + err.Error()
	}
	return ""
}

// exited reports a component that stopped.
func (c *Cluster) exited() error {
	for _, p := range c.procs {
		select {
		case err := <-p.done:
			return fmt.Errorf("%s exited: %v", p.name, err)
		default:
		}
	}
	return nil
}

// Stop stops every component.
func (c *Cluster) Stop() error {
	for i := len(c.procs) - 1; i >= 0; i-- {
		p := c.procs[i]
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	}
	c.procs = nil
	return c.env.Stop()
}

// logTails is the end of each component's log, for a failure message.
func (c *Cluster) logTails() error {
	var errs []error
	for _, p := range c.procs {
		b, _ := os.ReadFile(p.log)
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		if len(lines) > 15 {
			lines = lines[len(lines)-15:]
		}
		errs = append(errs, fmt.Errorf("%s log (%s), last lines:\n%s", p.name, p.log, strings.Join(lines, "\n")))
	}
	return errors.Join(errs...)
}

func startProcess(path, dir string, args []string) (*process, error) {
	name := filepath.Base(path)
	p := &process{name: name, log: filepath.Join(dir, name+".log"), done: make(chan error, 1)}
	f, err := os.Create(p.log)
	if err != nil {
		return nil, err
	}
	p.cmd = exec.Command(path, args...)
	p.cmd.Stdout, p.cmd.Stderr = f, f
	p.cmd.Dir = dir
	if err := p.cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() { p.done <- p.cmd.Wait(); f.Close() }()
	return p, nil
}

// writeKubeconfig writes the user's kubeconfig with its one context renamed
// to context (envtest names it after itself).
func writeKubeconfig(user *envtest.AuthenticatedUser, path, context string) error {
	b, err := user.KubeConfig()
	if err != nil {
		return err
	}
	kc, err := clientcmd.Load(b)
	if err != nil {
		return err
	}
	if len(kc.Contexts) != 1 {
		return fmt.Errorf("envtest kubeconfig has %d contexts, want 1", len(kc.Contexts))
	}
	for name, ctx := range kc.Contexts {
		delete(kc.Contexts, name)
		kc.Contexts[context] = ctx
	}
	kc.CurrentContext = context
	return clientcmd.WriteToFile(*kc, path)
}

// KwokModule is the tool module kwok is built from (scripts/engine-tools.sh).
var KwokModule = filepath.Join("..", "tools", "kwok")

// podStages writes kwok's pod stages to dir and returns the file: kwok's
// own default ("fast") stages, read from the kwok module the tool is built
// from, with one change: a deleted pod goes away after one second instead
// of at once, as a kubelet takes at least that to stop a container. At
// once, a StatefulSet's replacement pod (same name) could exist before the
// disruption controller saw the old one terminating, and the
// PodDisruptionBudget then counted it as disrupted until its 2-minute
// DeletionTimeout (pkg/controller/disruption, buildDisruptedPodMap): the
// node roll waited 2 minutes for an Alertmanager eviction in about half of
// the runs.
func podStages(dir string) (string, error) {
	list := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "sigs.k8s.io/kwok")
	list.Dir = KwokModule
	out, err := list.Output()
	if err != nil {
		return "", fmt.Errorf("find the kwok module (go list -m sigs.k8s.io/kwok in %s): %w", KwokModule, err)
	}
	fast := filepath.Join(strings.TrimSpace(string(out)), "kustomize", "stage", "pod", "fast")
	var docs []string
	for _, name := range []string{"pod-ready.yaml", "pod-complete.yaml", "pod-delete.yaml"} {
		b, err := os.ReadFile(filepath.Join(fast, name))
		if err != nil {
			return "", fmt.Errorf("kwok's default pod stages: %w", err)
		}
		doc := string(b)
		if name == "pod-delete.yaml" {
			if !strings.Contains(doc, "\n  next:\n") {
				return "", fmt.Errorf("%s: no next: to delay", filepath.Join(fast, name))
			}
			doc = strings.Replace(doc, "\n  next:\n", "\n  delay:\n    durationMilliseconds: 1000\n  next:\n", 1)
		}
		docs = append(docs, strings.TrimSpace(doc))
	}
	file := filepath.Join(dir, "kwok-stages.yaml")
	return file, os.WriteFile(file, []byte(strings.Join(docs, "\n---\n")+"\n"), 0o644)
}
