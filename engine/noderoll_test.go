package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/dynamic"

	"github.com/cnplatform/platform/components/helmrelease/render"
	"github.com/cnplatform/platform/components/podvalues"
	"github.com/cnplatform/platform/components/routing"
	"github.com/cnplatform/platform/stacks"
)

// prodSizing is the prod stack's shape, set on the test's local stack from
// the one table of defaults (stacks.Defaults), so the whole engine test
// runs the replica counts, PodDisruptionBudgets and zone spread prod runs:
// highAvailability on (controllers with two replicas, budgets and spread),
// and prod's Prometheus, Alertmanager and proxy replicas.
func prodSizing() []struct{ key, value string } {
	d := stacks.Defaults[stacks.Prod]
	return []struct{ key, value string }{
		{"platform:highAvailability", strconv.FormatBool(d.HighAvailability)},
		{"platform:monitoring.prometheus.replicas", strconv.Itoa(d.PrometheusReplicas)},
		{"platform:monitoring.alertmanager.replicas", strconv.Itoa(d.AlertmanagerReplicas)},
		{"platform:routing.proxyReplicas", strconv.Itoa(d.ProxyReplicas)},
	}
}

// nodeRoll scales the 15 minutes a managed node group update waits for a
// refused eviction down to 3 minutes: a replacement is Ready within seconds
// here, but the disruption controller counts an evicted pod as disrupted
// until it sees it deleted, or for 2 minutes (kubernetes
// pkg/controller/disruption/disruption.go, DeletionTimeout), and kwok
// deletes pods so fast that it can miss the deletion; a StatefulSet's
// replacement, under the same name, then stays out of the budget's healthy
// count for those 2 minutes (seen: an Alertmanager eviction refused for
// 30 s in the next zone).
var nodeRoll = Roll{EvictionLimit: 3 * time.Minute, RetryEvery: 500 * time.Millisecond}

// blockerNamespace holds the budget that can never allow an eviction.
const blockerNamespace = "engine-test-blocker"

// rollNodes is issue 21 item 3 on the running local stack at prod's sizing:
// every node is replaced zone by zone the way a managed node group update
// does it (Cluster.RollZone) while a sampler checks every
// PodDisruptionBudget of the platform several times a second. It asserts
// that every budget kept its minimum of Ready pods throughout, that no
// eviction stayed refused past the limit, and that at the end every
// workload is Ready again with its zone spread intact. First, a budget that
// can never allow an eviction (one replica, minAvailable 1) must fail the
// roll of its zone, naming it.
//
// The Prometheus and Alertmanager StatefulSets and the Envoy proxies are
// made by controllers whose pods kwok only pretends to run (the Prometheus
// Operator, Envoy Gateway), so the test stands in for them (standIns): it
// makes the workloads those controllers would make from our custom
// resources, with the labels their sources give them, while the budgets of
// Prometheus and Alertmanager are the chart's own. Volumes are left out: no
// CSI driver runs here.
func rollNodes(ctx context.Context, t *testing.T, cluster *Cluster) {
	t.Helper()
	start := time.Now()
	removeStandIns := standIns(ctx, t, cluster)
	defer removeStandIns()
	require.NoError(t, waitWorkloadsReady(ctx, cluster, 2*time.Minute), "before the roll")

	budgets, err := platformBudgets(ctx, cluster)
	require.NoError(t, err)
	require.NotEmpty(t, budgets, "prod's sizing gives the platform PodDisruptionBudgets")

	// Sampled from here on: the first, failed roll of a zone evicts the
	// platform's pods too.
	sampler := sampleBudgets(ctx, cluster, budgets)

	// A budget that never allows an eviction fails the roll, by name.
	blockerZone := Zones[0]
	blocker := createBlocker(ctx, t, cluster, blockerZone)
	block := Roll{EvictionLimit: 3 * time.Second, RetryEvery: nodeRoll.RetryEvery}
	_, err = cluster.RollZone(ctx, blockerZone, surgeNodeName(blockerZone), block)
	var blocked *BlockedEviction
	require.ErrorAs(t, err, &blocked, "a PodDisruptionBudget with minAvailable 1 over one replica must fail the drain")
	assert.Equal(t, []string{blocker}, blocked.Budgets, "the failure names the budget that blocked it: %v", err)
	fmt.Printf("drain: a budget that never allows an eviction fails the roll as it should: %v\n", err)
	require.NoError(t, cluster.Client.CoreV1().Namespaces().Delete(ctx, blockerNamespace, metav1.DeleteOptions{}))
	require.Eventually(t, func() bool {
		_, err := cluster.Client.CoreV1().Namespaces().Get(ctx, blockerNamespace, metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	}, time.Minute, 200*time.Millisecond, "the blocker's namespace is gone (no eviction is allowed in a terminating namespace)")

	// The roll, zone by zone.
	total := RollStats{}
	var blockedPast int
	for _, zone := range Zones {
		st, err := cluster.RollZone(ctx, zone, surgeNodeName(zone), nodeRoll)
		total.Nodes += st.Nodes
		total.Evictions += st.Evictions
		total.Refusals += st.Refusals
		if errors.As(err, &blocked) {
			blockedPast++
		}
		require.NoError(t, err, "rolling %s", zone)
		require.NoError(t, waitWorkloadsReady(ctx, cluster, 2*time.Minute), "after rolling %s", zone)
	}
	below, lowest, samples := sampler.stop()
	for _, b := range below {
		t.Errorf("below its PodDisruptionBudget during the roll: %s", b)
	}
	spread, err := spreadProblems(ctx, cluster)
	require.NoError(t, err)
	for _, p := range spread {
		t.Errorf("zone spread after the roll: %s", p)
	}
	for _, b := range budgets {
		fmt.Printf("drain: budget %s minAvailable=%d lowest-ready=%d\n", b.name, b.min, lowest[b.name])
	}
	fmt.Printf("drain: zones=%d nodes=%d evictions=%d blocked-past-limit=%d below-pdb=%d refused-attempts=%d samples=%d spread-problems=%d took=%s\n",
		len(Zones), total.Nodes, total.Evictions, blockedPast, len(below), total.Refusals, samples, len(spread), time.Since(start).Round(time.Second))
}

func surgeNodeName(zone string) string { return "kwok-" + zone + "-2" }

// budget is a PodDisruptionBudget resolved to the number of Ready pods it
// keeps.
type budget struct {
	name      string // namespace/name
	namespace string
	selector  labels.Selector
	min       int
}

// platformBudgets lists every PodDisruptionBudget in the cluster with the
// minimum it keeps (minAvailable, or the pods it expects less
// maxUnavailable), and checks each selects at least that many Ready pods
// now: a budget over pods that do not exist would prove nothing.
func platformBudgets(ctx context.Context, c *Cluster) ([]budget, error) {
	pdbs, err := c.Client.PolicyV1().PodDisruptionBudgets("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	pods, err := c.Client.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	var out []budget
	var errs []error
	for _, p := range pdbs.Items {
		sel, err := metav1.LabelSelectorAsSelector(p.Spec.Selector)
		if err != nil {
			return nil, err
		}
		b := budget{name: p.Namespace + "/" + p.Name, namespace: p.Namespace, selector: sel}
		selected := 0
		for _, pod := range pods.Items {
			if pod.Namespace == p.Namespace && sel.Matches(labels.Set(pod.Labels)) {
				selected++
			}
		}
		switch {
		case p.Spec.MinAvailable != nil:
			b.min, err = intstr.GetScaledValueFromIntOrPercent(p.Spec.MinAvailable, selected, true)
		case p.Spec.MaxUnavailable != nil:
			var maxUnavailable int
			maxUnavailable, err = intstr.GetScaledValueFromIntOrPercent(p.Spec.MaxUnavailable, selected, true)
			b.min = selected - maxUnavailable
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", b.name, err)
		}
		if ready := readySelected(pods.Items, b); ready < b.min || selected == 0 {
			errs = append(errs, fmt.Errorf("PodDisruptionBudget %s selects %d pods, %d Ready, before the roll; it keeps %d", b.name, selected, ready, b.min))
		}
		out = append(out, b)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, errors.Join(errs...)
}

func readySelected(pods []corev1.Pod, b budget) int {
	n := 0
	for _, p := range pods {
		if p.Namespace == b.namespace && b.selector.Matches(labels.Set(p.Labels)) && podReady(p) {
			n++
		}
	}
	return n
}

// budgetSampler lists the pods every 100 ms and notes each budget whose
// Ready pods fell below its minimum.
type budgetSampler struct {
	done    chan struct{}
	wg      sync.WaitGroup
	below   []string
	lowest  map[string]int
	samples int
}

func sampleBudgets(ctx context.Context, c *Cluster, budgets []budget) *budgetSampler {
	s := &budgetSampler{done: make(chan struct{}), lowest: map[string]int{}}
	for _, b := range budgets {
		s.lowest[b.name] = -1
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-s.done:
				return
			case <-tick.C:
			}
			pods, err := c.Client.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
			if err != nil {
				s.below = append(s.below, "listing pods failed: "+err.Error())
				continue
			}
			s.samples++
			for _, b := range budgets {
				ready := readySelected(pods.Items, b)
				if s.lowest[b.name] < 0 || ready < s.lowest[b.name] {
					s.lowest[b.name] = ready
				}
				if ready < b.min {
					s.below = append(s.below, fmt.Sprintf("%s had %d Ready pods at %s, keeps %d", b.name, ready, time.Now().Format("15:04:05.000"), b.min))
				}
			}
		}
	}()
	return s
}

func (s *budgetSampler) stop() (below []string, lowest map[string]int, samples int) {
	close(s.done)
	s.wg.Wait()
	return s.below, s.lowest, s.samples
}

// waitWorkloadsReady waits for every Deployment, StatefulSet and DaemonSet
// to have all its replicas Ready and up to date.
func waitWorkloadsReady(ctx context.Context, c *Cluster, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last []string
	for time.Now().Before(deadline) {
		last = nil
		deps, err := c.Client.AppsV1().Deployments("").List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		for _, d := range deps.Items {
			want := ptrOr(d.Spec.Replicas, 1)
			if d.Status.ReadyReplicas != want || d.Status.UpdatedReplicas != want || d.Status.Replicas != want {
				last = append(last, fmt.Sprintf("Deployment %s/%s %d/%d Ready", d.Namespace, d.Name, d.Status.ReadyReplicas, want))
			}
		}
		sets, err := c.Client.AppsV1().StatefulSets("").List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		for _, s := range sets.Items {
			want := ptrOr(s.Spec.Replicas, 1)
			if s.Status.ReadyReplicas != want || s.Status.Replicas != want {
				last = append(last, fmt.Sprintf("StatefulSet %s/%s %d/%d Ready", s.Namespace, s.Name, s.Status.ReadyReplicas, want))
			}
		}
		dss, err := c.Client.AppsV1().DaemonSets("").List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		for _, d := range dss.Items {
			if d.Status.NumberReady != d.Status.DesiredNumberScheduled || d.Status.UpdatedNumberScheduled != d.Status.DesiredNumberScheduled {
				last = append(last, fmt.Sprintf("DaemonSet %s/%s %d/%d Ready", d.Namespace, d.Name, d.Status.NumberReady, d.Status.DesiredNumberScheduled))
			}
		}
		if len(last) == 0 {
			return nil
		}
		time.Sleep(250 * time.Millisecond)
	}
	return fmt.Errorf("workloads not Ready after %s: %s", timeout, strings.Join(last, "; "))
}

func ptrOr(p *int32, v int32) int32 {
	if p == nil {
		return v
	}
	return *p
}

// spreadProblems checks every pod's zone topologySpreadConstraints against
// where the pods it selects run now: the skew between the zones that have
// schedulable nodes stays within maxSkew, and the constraint's selector
// selects the pod itself (a selector matching none of its pods spreads
// nothing).
func spreadProblems(ctx context.Context, c *Cluster) ([]string, error) {
	pods, err := c.Client.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	nodes, err := c.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	zoneOf := map[string]string{}
	for _, n := range nodes.Items {
		zoneOf[n.Name] = n.Labels[podvalues.ZoneKey]
	}
	seen := map[string]bool{}
	var out []string
	for _, p := range pods.Items {
		for _, tsc := range p.Spec.TopologySpreadConstraints {
			if tsc.TopologyKey != podvalues.ZoneKey {
				continue
			}
			sel, err := metav1.LabelSelectorAsSelector(tsc.LabelSelector)
			if err != nil {
				return nil, err
			}
			key := p.Namespace + " " + sel.String()
			if seen[key] {
				continue
			}
			seen[key] = true
			if !sel.Matches(labels.Set(p.Labels)) {
				out = append(out, fmt.Sprintf("pod %s/%s: its spread selector %s does not select it", p.Namespace, p.Name, sel))
				continue
			}
			count := map[string]int{}
			for _, z := range Zones {
				count[z] = 0
			}
			for _, q := range pods.Items {
				if q.Namespace == p.Namespace && sel.Matches(labels.Set(q.Labels)) && q.DeletionTimestamp == nil {
					count[zoneOf[q.Spec.NodeName]]++
				}
			}
			counts := slices.Collect(maps.Values(count))
			if skew := slices.Max(counts) - slices.Min(counts); skew > int(tsc.MaxSkew) {
				out = append(out, fmt.Sprintf("%s %s: pods per zone %v, skew %d above maxSkew %d (%s)", p.Namespace, sel, count, skew, tsc.MaxSkew, tsc.WhenUnsatisfiable))
			}
		}
	}
	return out, nil
}

// createBlocker makes, in zone, one pod under a budget of minAvailable 1:
// a budget that never allows an eviction. It returns the budget's name.
func createBlocker(ctx context.Context, t *testing.T, c *Cluster, zone string) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: blockerNamespace}}
	_, err := c.Client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{})
	require.NoError(t, err)
	lbl := map[string]string{"app": "blocker"}
	one := intstr.FromInt32(1)
	_, err = c.Client.PolicyV1().PodDisruptionBudgets(blockerNamespace).Create(ctx, &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: "blocker"},
		Spec:       policyv1.PodDisruptionBudgetSpec{MinAvailable: &one, Selector: &metav1.LabelSelector{MatchLabels: lbl}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = c.Client.AppsV1().Deployments(blockerNamespace).Create(ctx, standInDeployment("blocker", 1, lbl,
		corev1.PodSpec{NodeSelector: map[string]string{podvalues.ZoneKey: zone}}), metav1.CreateOptions{})
	require.NoError(t, err)
	require.NoError(t, waitWorkloadsReady(ctx, c, time.Minute), "the blocker")
	// The disruption controller must have counted the pod, or the budget
	// refuses for want of status rather than by its minimum.
	require.Eventually(t, func() bool {
		b, err := c.Client.PolicyV1().PodDisruptionBudgets(blockerNamespace).Get(ctx, "blocker", metav1.GetOptions{})
		return err == nil && b.Status.CurrentHealthy == 1 && b.Status.ObservedGeneration == b.Generation
	}, time.Minute, 200*time.Millisecond)
	return blockerNamespace + "/blocker"
}

// Custom resources the stand-ins read.
var (
	prometheusesGVR  = schema.GroupVersionResource{Group: "monitoring.coreos.com", Version: "v1", Resource: "prometheuses"}
	alertmanagersGVR = schema.GroupVersionResource{Group: "monitoring.coreos.com", Version: "v1", Resource: "alertmanagers"}
	envoyProxiesGVR  = schema.GroupVersionResource{Group: "gateway.envoyproxy.io", Version: "v1alpha1", Resource: "envoyproxies"}
)

// standInLabel marks what the test made in a controller's place.
const standInLabel = "engine-test/stand-in"

// standIns makes what the controllers kwok cannot run would make from our
// custom resources, and returns what removes it (before the feature
// switches, which compare the cluster before and after):
//   - per Prometheus and Alertmanager, the StatefulSet the Prometheus
//     Operator v0.94.0 makes: its replicas, topologySpreadConstraints and
//     affinity from the resource, Parallel pod management (the operator's
//     default, pkg/prometheus/server/statefulset.go), and the operator's pod
//     labels (render.OperatorPodLabels). Their PodDisruptionBudgets are
//     kube-prometheus-stack's own.
//   - per EnvoyProxy, the proxies' Deployment and PodDisruptionBudget Envoy
//     Gateway makes in its own namespace for the platform's Gateway: the
//     EnvoyProxy's envoyDeployment replicas and pod topologySpreadConstraints,
//     envoyPDB's minAvailable, and the labels Envoy Gateway puts on the
//     proxies (render.EnvoyProxyPodLabels).
func standIns(ctx context.Context, t *testing.T, c *Cluster) func() {
	t.Helper()
	dyn, err := dynamic.NewForConfig(c.Config)
	require.NoError(t, err)
	apps := c.Client.AppsV1()
	var made []func() error
	for _, kind := range []struct {
		gvr          schema.GroupVersionResource
		kind, prefix string
	}{
		{prometheusesGVR, "Prometheus", "prometheus-"},
		{alertmanagersGVR, "Alertmanager", "alertmanager-"},
	} {
		list, err := dyn.Resource(kind.gvr).Namespace("").List(ctx, metav1.ListOptions{})
		require.NoError(t, err)
		for _, cr := range list.Items {
			replicas, _, _ := unstructured.NestedInt64(cr.Object, "spec", "replicas")
			var spec struct {
				PodMetadata *struct {
					Labels map[string]string `json:"labels"`
				} `json:"podMetadata"`
				TopologySpreadConstraints []corev1.TopologySpreadConstraint `json:"topologySpreadConstraints"`
				Affinity                  *corev1.Affinity                  `json:"affinity"`
			}
			specMap, _, _ := unstructured.NestedMap(cr.Object, "spec")
			require.NoError(t, runtime.DefaultUnstructuredConverter.FromUnstructured(specMap, &spec), cr.GetName())
			var podMetadata map[string]string
			if spec.PodMetadata != nil {
				podMetadata = spec.PodMetadata.Labels
			}
			lbl := render.OperatorSelectorLabels(kind.kind, cr.GetName())
			podLabels := render.OperatorPodLabels(kind.kind, cr.GetName(), podMetadata)
			podLabels[standInLabel] = "prometheus-operator"
			sts := &appsv1.StatefulSet{
				ObjectMeta: metav1.ObjectMeta{Name: kind.prefix + cr.GetName(), Namespace: cr.GetNamespace(), Labels: map[string]string{standInLabel: "prometheus-operator"}},
				Spec: appsv1.StatefulSetSpec{
					Replicas:            podvalues.Ptr(int32(replicas)),
					Selector:            &metav1.LabelSelector{MatchLabels: lbl},
					PodManagementPolicy: appsv1.ParallelPodManagement,
					Template: corev1.PodTemplateSpec{
						ObjectMeta: metav1.ObjectMeta{Labels: podLabels},
						Spec:       standInPod(corev1.PodSpec{TopologySpreadConstraints: spec.TopologySpreadConstraints, Affinity: spec.Affinity}),
					},
				},
			}
			_, err := apps.StatefulSets(sts.Namespace).Create(ctx, sts, metav1.CreateOptions{})
			require.NoError(t, err, sts.Name)
			made = append(made, func() error { return apps.StatefulSets(sts.Namespace).Delete(ctx, sts.Name, metav1.DeleteOptions{}) })
		}
	}

	proxies, err := dyn.Resource(envoyProxiesGVR).Namespace("").List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	for _, ep := range proxies.Items {
		k8s, _, _ := unstructured.NestedMap(ep.Object, "spec", "provider", "kubernetes")
		var spec struct {
			EnvoyDeployment struct {
				Replicas *int32 `json:"replicas"`
				Pod      struct {
					TopologySpreadConstraints []corev1.TopologySpreadConstraint `json:"topologySpreadConstraints"`
					Affinity                  *corev1.Affinity                  `json:"affinity"`
				} `json:"pod"`
			} `json:"envoyDeployment"`
			EnvoyPDB *struct {
				MinAvailable *intstr.IntOrString `json:"minAvailable"`
			} `json:"envoyPDB"`
		}
		require.NoError(t, runtime.DefaultUnstructuredConverter.FromUnstructured(k8s, &spec), ep.GetName())
		lbl := render.EnvoyProxyPodLabels(routing.DefaultGatewayNamespace, routing.DefaultGatewayName)
		ns, name := routing.EnvoyGatewayNamespace, "envoy-"+routing.DefaultGatewayNamespace+"-"+routing.DefaultGatewayName+"-stand-in"
		d := standInDeployment(name, ptrOr(spec.EnvoyDeployment.Replicas, 1), lbl, corev1.PodSpec{
			TopologySpreadConstraints: spec.EnvoyDeployment.Pod.TopologySpreadConstraints, Affinity: spec.EnvoyDeployment.Pod.Affinity})
		_, err := apps.Deployments(ns).Create(ctx, d, metav1.CreateOptions{})
		require.NoError(t, err, name)
		made = append(made, func() error { return apps.Deployments(ns).Delete(ctx, name, metav1.DeleteOptions{}) })
		if spec.EnvoyPDB != nil && spec.EnvoyPDB.MinAvailable != nil {
			pdbs := c.Client.PolicyV1().PodDisruptionBudgets(ns)
			_, err := pdbs.Create(ctx, &policyv1.PodDisruptionBudget{
				ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{standInLabel: "envoy-gateway"}},
				Spec:       policyv1.PodDisruptionBudgetSpec{MinAvailable: spec.EnvoyPDB.MinAvailable, Selector: &metav1.LabelSelector{MatchLabels: lbl}},
			}, metav1.CreateOptions{})
			require.NoError(t, err, name)
			made = append(made, func() error { return pdbs.Delete(ctx, name, metav1.DeleteOptions{}) })
		}
	}
	require.NotEmpty(t, made, "no Prometheus, Alertmanager or EnvoyProxy to stand in for")
	return func() {
		for _, remove := range made {
			if err := remove(); err != nil && !apierrors.IsNotFound(err) {
				t.Errorf("remove stand-in: %v", err)
			}
		}
		// Their pods go too before the next step lists the cluster.
		assert.Eventually(t, func() bool {
			pods, err := c.Client.CoreV1().Pods("").List(ctx, metav1.ListOptions{LabelSelector: standInLabel})
			return err == nil && len(pods.Items) == 0
		}, time.Minute, 200*time.Millisecond, "the stand-ins' pods are gone")
	}
}

// standInDeployment is a Deployment of replicas pods labelled lbl.
func standInDeployment(name string, replicas int32, lbl map[string]string, pod corev1.PodSpec) *appsv1.Deployment {
	podLabels := maps.Clone(lbl)
	podLabels[standInLabel] = name
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{standInLabel: name}},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: lbl},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: podLabels}, Spec: standInPod(pod)},
		},
	}
}

// standInPod completes a pod spec with one container kwok pretends to run,
// allowed by the restricted Pod Security level the platform's namespaces
// enforce.
func standInPod(p corev1.PodSpec) corev1.PodSpec {
	p.Containers = []corev1.Container{{
		Name: "stand-in", Image: "registry.k8s.io/pause:3.10",
		SecurityContext: &corev1.SecurityContext{
			AllowPrivilegeEscalation: podvalues.Ptr(false),
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		},
	}}
	p.SecurityContext = &corev1.PodSecurityContext{
		RunAsNonRoot: podvalues.Ptr(true), RunAsUser: podvalues.Ptr(int64(65532)),
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
	p.AutomountServiceAccountToken = podvalues.Ptr(false)
	return p
}
