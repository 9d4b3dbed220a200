package engine

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	"github.com/cnplatform/platform/components/podvalues"
)

// Roll is how a node roll behaves, scaled from a managed node group
// update (docs.aws.amazon.com/eks/latest/userguide/managed-node-update-behavior.html):
// its scale-up phase launches a new node in the zone of the node it
// replaces and cordons the old nodes; its upgrade phase evicts the old
// node's pods through the Eviction API (which honours
// PodDisruptionBudgets), retries an eviction a budget refuses for 15
// minutes and then fails the update with PodEvictionFailure, and
// terminates the node once it is empty.
type Roll struct {
	// EvictionLimit is the 15 minutes, scaled down for a test.
	EvictionLimit time.Duration
	// RetryEvery is the pause between two attempts of a refused eviction.
	RetryEvery time.Duration
}

// RollStats counts what one roll did.
type RollStats struct {
	Nodes, Evictions, Refusals int
}

// BlockedEviction is an eviction a PodDisruptionBudget kept refusing past
// the limit: the update fails (PodEvictionFailure), naming the budget.
type BlockedEviction struct {
	Pod     string
	Budgets []string
	Reason  string
	For     time.Duration
}

func (e *BlockedEviction) Error() string {
	return fmt.Sprintf("PodEvictionFailure: evicting %s was refused for %s by PodDisruptionBudget %s: %s",
		e.Pod, e.For.Round(time.Second), strings.Join(e.Budgets, ", "), e.Reason)
}

// RollZone replaces the schedulable node of zone with a new one the way a
// managed node group update does: a surge node in the zone (named name),
// Ready; the old node cordoned; its pods evicted, DaemonSet pods aside (a
// drain leaves them; they go with the node); each evicted pod gone; then
// the node deleted with what still ran on it, as when its instance
// terminates. A zone whose drain failed is rolled again by calling RollZone
// again: the surge node is reused.
func (c *Cluster) RollZone(ctx context.Context, zone, name string, r Roll) (RollStats, error) {
	var st RollStats
	old, err := c.nodesIn(ctx, zone, name)
	if err != nil {
		return st, err
	}
	if len(old) == 0 {
		return st, fmt.Errorf("no node to roll in %s", zone)
	}
	if _, err := c.Client.CoreV1().Nodes().Create(ctx, fakeNode(zone, name), metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return st, fmt.Errorf("surge node %s: %w", name, err)
	}
	if err := c.waitNodeReady(ctx, name, time.Minute); err != nil {
		return st, err
	}
	for _, n := range old {
		patch := []byte(`{"spec":{"unschedulable":true}}`)
		if _, err := c.Client.CoreV1().Nodes().Patch(ctx, n.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}); err != nil {
			return st, fmt.Errorf("cordon %s: %w", n.Name, err)
		}
	}
	for _, n := range old {
		evicted, refusals, err := c.drain(ctx, n.Name, r)
		st.Evictions += evicted
		st.Refusals += refusals
		if err != nil {
			return st, fmt.Errorf("drain %s: %w", n.Name, err)
		}
		if err := c.Client.CoreV1().Nodes().Delete(ctx, n.Name, metav1.DeleteOptions{}); err != nil {
			return st, fmt.Errorf("delete node %s: %w", n.Name, err)
		}
		// The instance is gone, and with it the DaemonSet pods: what the pod
		// garbage collector removes after its quarantine, removed now.
		pods, err := c.podsOn(ctx, n.Name)
		if err != nil {
			return st, err
		}
		for _, p := range pods {
			_ = c.Client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: new(int64)})
		}
		st.Nodes++
	}
	return st, nil
}

// drain evicts every pod on node but DaemonSet pods, all at once, each
// retried while a budget refuses it, and waits for each to be gone.
func (c *Cluster) drain(ctx context.Context, node string, r Roll) (evicted, refusals int, err error) {
	pods, err := c.podsOn(ctx, node)
	if err != nil {
		return 0, 0, err
	}
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		errs []error
	)
	for _, p := range pods {
		if daemonSetPod(p) || p.DeletionTimestamp != nil {
			continue
		}
		wg.Add(1)
		go func(p corev1.Pod) {
			defer wg.Done()
			n, err := c.evict(ctx, p, r)
			if err == nil {
				err = c.waitGone(ctx, p, r.EvictionLimit)
			}
			mu.Lock()
			defer mu.Unlock()
			refusals += n
			if err != nil {
				errs = append(errs, err)
				return
			}
			evicted++
		}(p)
	}
	wg.Wait()
	return evicted, refusals, errors.Join(errs...)
}

// evict asks the Eviction API to evict p until it accepts (or the pod is
// gone), for at most r.EvictionLimit of refusals. It returns how many times
// a budget refused it.
func (c *Cluster) evict(ctx context.Context, p corev1.Pod, r Roll) (int, error) {
	start := time.Now()
	refusals := 0
	for {
		err := c.Client.PolicyV1().Evictions(p.Namespace).Evict(ctx, &policyv1.Eviction{
			ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: p.Namespace},
		})
		switch {
		case err == nil, apierrors.IsNotFound(err):
			return refusals, nil
		case apierrors.IsTooManyRequests(err):
			refusals++
			if time.Since(start) >= r.EvictionLimit {
				budgets, berr := c.budgetsOf(ctx, p)
				return refusals, errors.Join(&BlockedEviction{Pod: p.Namespace + "/" + p.Name, Budgets: budgets, Reason: err.Error(), For: time.Since(start)}, berr)
			}
		default:
			return refusals, fmt.Errorf("evict %s/%s: %w", p.Namespace, p.Name, err)
		}
		select {
		case <-ctx.Done():
			return refusals, ctx.Err()
		case <-time.After(r.RetryEvery):
		}
	}
}

// budgetsOf names the PodDisruptionBudgets that select p.
func (c *Cluster) budgetsOf(ctx context.Context, p corev1.Pod) ([]string, error) {
	pdbs, err := c.Client.PolicyV1().PodDisruptionBudgets(p.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, b := range pdbs.Items {
		sel, err := metav1.LabelSelectorAsSelector(b.Spec.Selector)
		if err == nil && !sel.Empty() && sel.Matches(labels.Set(p.Labels)) {
			out = append(out, b.Namespace+"/"+b.Name)
		}
	}
	sort.Strings(out)
	return out, nil
}

// waitGone waits for the pod (this one, by UID) to be deleted.
func (c *Cluster) waitGone(ctx context.Context, p corev1.Pod, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		got, err := c.Client.CoreV1().Pods(p.Namespace).Get(ctx, p.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) || (err == nil && got.UID != p.UID) {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("evicted pod %s/%s still exists after %s", p.Namespace, p.Name, timeout)
}

func (c *Cluster) podsOn(ctx context.Context, node string) ([]corev1.Pod, error) {
	pods, err := c.Client.CoreV1().Pods("").List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=" + node})
	if err != nil {
		return nil, err
	}
	return pods.Items, nil
}

// nodesIn lists the nodes of zone but except (the surge node).
func (c *Cluster) nodesIn(ctx context.Context, zone, except string) ([]corev1.Node, error) {
	nodes, err := c.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: podvalues.ZoneKey + "=" + zone})
	if err != nil {
		return nil, err
	}
	var out []corev1.Node
	for _, n := range nodes.Items {
		if n.Name != except {
			out = append(out, n)
		}
	}
	return out, nil
}

func (c *Cluster) waitNodeReady(ctx context.Context, name string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if n, err := c.Client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{}); err == nil && nodeReady(*n) {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("node %s not Ready after %s (kwok)", name, timeout)
}

// nodeReady is the node's Ready condition (kwok sets it).
func nodeReady(n corev1.Node) bool {
	for _, cond := range n.Status.Conditions {
		if cond.Type == corev1.NodeReady {
			return cond.Status == corev1.ConditionTrue
		}
	}
	return false
}

func daemonSetPod(p corev1.Pod) bool {
	for _, o := range p.OwnerReferences {
		if o.Kind == "DaemonSet" {
			return true
		}
	}
	return false
}

// podReady is the pod's Ready condition.
func podReady(p corev1.Pod) bool {
	if p.DeletionTimestamp != nil || p.Status.Phase != corev1.PodRunning {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
