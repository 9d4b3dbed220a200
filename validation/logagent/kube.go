package logagent

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/cnplatform/platform/validation/controlplane"
)

// Kube is a real kube-apiserver and etcd (envtest) for the kubernetes
// filter to read pod metadata from, with a service account token the
// agent uses as it would in its pod.
type Kube struct {
	env    *envtest.Environment
	cfg    *rest.Config
	client *http.Client

	// URL, CAFile and TokenFile are what the kubernetes filter needs.
	URL, CAFile, TokenFile string
}

// Agent identity, as the fluent-bit chart creates it: a ServiceAccount in
// the release namespace bound to the chart's ClusterRole.
const (
	agentNamespace      = "logging"
	agentServiceAccount = agentRelease
)

// StartKube starts kube-apiserver and etcd from binDir and provisions the
// agent's service account, a ClusterRole with rules (the chart's), its
// binding and a token in dir.
func StartKube(binDir, dir string, rules []any) (*Kube, error) {
	if len(rules) == 0 {
		return nil, fmt.Errorf("no ClusterRole rules for the agent")
	}
	env := controlplane.Environment(binDir)
	cfg, err := env.Start()
	if err != nil {
		return nil, fmt.Errorf("start kube-apiserver and etcd from %s: %w", binDir, err)
	}
	client, err := rest.HTTPClientFor(cfg)
	if err != nil {
		_ = env.Stop()
		return nil, err
	}
	// envtest's host ends with a slash; paths are appended to it.
	k := &Kube{env: env, cfg: cfg, client: client, URL: strings.TrimSuffix(cfg.Host, "/")}
	if err := k.provisionAgent(dir, rules); err != nil {
		_ = env.Stop()
		return nil, err
	}
	return k, nil
}

// Stop stops the API server and etcd.
func (k *Kube) Stop() error { return k.env.Stop() }

// call sends one request; 409 (already exists) counts as success.
func (k *Kube) call(method, path string, body any, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, k.URL+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := k.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusConflict && method == http.MethodPost && out == nil {
		return nil
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

func (k *Kube) create(path string, obj map[string]any) error {
	return k.call(http.MethodPost, path, obj, nil)
}

// Namespace creates a namespace and its default service account (there
// is no controller-manager to create it, and pods need it to be admitted).
func (k *Kube) Namespace(name string) error {
	if err := k.create("/api/v1/namespaces", map[string]any{
		"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": name},
	}); err != nil {
		return err
	}
	return k.create("/api/v1/namespaces/"+name+"/serviceaccounts", map[string]any{
		"apiVersion": "v1", "kind": "ServiceAccount", "metadata": map[string]any{"name": "default"},
	})
}

// Pod creates the pod whose container writes c, with labels and
// annotations.
func (k *Kube) Pod(c ContainerLog, labels, annotations map[string]string) error {
	if err := k.Namespace(c.Namespace); err != nil {
		return err
	}
	meta := map[string]any{"name": c.Pod, "labels": labels}
	if len(annotations) > 0 {
		meta["annotations"] = annotations
	}
	return k.create("/api/v1/namespaces/"+c.Namespace+"/pods", map[string]any{
		"apiVersion": "v1", "kind": "Pod", "metadata": meta,
		"spec": map[string]any{
			"automountServiceAccountToken": false,
			"containers":                   []any{map[string]any{"name": c.Container, "image": "registry.example.com/loggen:1.0.0"}},
		},
	})
}

// provisionAgent creates what the chart gives the agent (service account,
// ClusterRole, binding), requests a token for it and writes the token and
// the API server's CA for the filter.
func (k *Kube) provisionAgent(dir string, rules []any) error {
	if err := k.Namespace(agentNamespace); err != nil {
		return err
	}
	steps := []struct {
		path string
		obj  map[string]any
	}{
		{"/api/v1/namespaces/" + agentNamespace + "/serviceaccounts", map[string]any{
			"apiVersion": "v1", "kind": "ServiceAccount", "metadata": map[string]any{"name": agentServiceAccount},
		}},
		{"/apis/rbac.authorization.k8s.io/v1/clusterroles", map[string]any{
			"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": map[string]any{"name": agentServiceAccount},
			"rules": rules,
		}},
		{"/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", map[string]any{
			"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": map[string]any{"name": agentServiceAccount},
			"roleRef":  map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": agentServiceAccount},
			"subjects": []any{map[string]any{"kind": "ServiceAccount", "name": agentServiceAccount, "namespace": agentNamespace}},
		}},
	}
	for _, s := range steps {
		if err := k.create(s.path, s.obj); err != nil {
			return err
		}
	}
	var tr struct {
		Status struct {
			Token string `json:"token"`
		} `json:"status"`
	}
	if err := k.call(http.MethodPost, "/api/v1/namespaces/"+agentNamespace+"/serviceaccounts/"+agentServiceAccount+"/token",
		map[string]any{"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": map[string]any{"expirationSeconds": 7200}},
		&tr); err != nil {
		return err
	}
	if tr.Status.Token == "" {
		return fmt.Errorf("the TokenRequest returned no token")
	}
	k.TokenFile = filepath.Join(dir, "token")
	k.CAFile = filepath.Join(dir, "ca.crt")
	if err := os.WriteFile(k.TokenFile, []byte(tr.Status.Token), 0o600); err != nil {
		return err
	}
	return os.WriteFile(k.CAFile, k.cfg.CAData, 0o644)
}
