package validation

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// TrivyVersion is the trivy release scripts/kube-tools.sh builds; its
// misconfiguration checks are the trivy-checks bundle compiled into that
// binary (github.com/aquasecurity/trivy-checks, see `go version -m`).
const TrivyVersion = "v0.74.0"

// TrivyKubernetesVersion is the cluster version trivy checks deprecated
// APIs against (KubernetesVersion, in the form trivy takes).
const TrivyKubernetesVersion = "1.36.0"

// TrivyFinding is one failed trivy misconfiguration check on one file.
type TrivyFinding struct {
	// File is the scanned file, relative to the scanned directory.
	File string
	// Check is trivy's check ID, e.g. "KSV-0011".
	Check    string
	Title    string
	Severity string
	Message  string
}

// TrivyReport is what one `trivy config` run found.
type TrivyReport struct {
	// Scanned lists every file trivy recognised as a Kubernetes manifest
	// and checked (with or without findings), relative to the directory.
	Scanned  map[string]bool
	Findings []TrivyFinding
}

// trivyOutput is the part of trivy's JSON report the tests read.
type trivyOutput struct {
	Results []struct {
		Target            string `json:"Target"`
		Class             string `json:"Class"`
		Type              string `json:"Type"`
		Misconfigurations []struct {
			ID       string `json:"ID"`
			Title    string `json:"Title"`
			Message  string `json:"Message"`
			Severity string `json:"Severity"`
			Status   string `json:"Status"`
		} `json:"Misconfigurations"`
	} `json:"Results"`
}

// TrivyDataDir holds the data our checks' settings come from
// (trivy-data/trusted-registries.json: the registries KSV-0125 trusts).
const TrivyDataDir = "trivy-data"

// Trivy runs `trivy config` in Kubernetes misconfiguration mode over dir,
// with the check data in dataDir (--config-data),
// offline: the checks are the ones embedded in the binary
// (--skip-check-update, so no checks bundle is pulled), no vulnerability
// database is involved (config scans none), telemetry and the version
// check are off, and the proxy variables point at a closed port, so an
// attempt to reach the network fails the run rather than passing unseen.
func Trivy(binary, dir, dataDir string) (TrivyReport, error) {
	work, err := os.MkdirTemp("", "trivy-")
	if err != nil {
		return TrivyReport{}, err
	}
	defer os.RemoveAll(work)
	out := filepath.Join(work, "report.json")
	cmd := exec.Command(binary, "config",
		"--misconfig-scanners", "kubernetes",
		"--skip-check-update", "--disable-telemetry", "--skip-version-check",
		"--k8s-version", TrivyKubernetesVersion,
		"--config-data", dataDir,
		"--cache-dir", filepath.Join(work, "cache"),
		"--format", "json", "--output", out,
		"--exit-code", "0", "--quiet",
		dir)
	cmd.Env = append(os.Environ(),
		"HOME="+work, "HTTP_PROXY=http://127.0.0.1:9", "HTTPS_PROXY=http://127.0.0.1:9",
		"http_proxy=http://127.0.0.1:9", "https_proxy=http://127.0.0.1:9", "NO_PROXY=", "no_proxy=")
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Run(); err != nil {
		return TrivyReport{}, fmt.Errorf("trivy config %s: %v\n%s", dir, err, stderr.String())
	}
	b, err := os.ReadFile(out)
	if err != nil {
		return TrivyReport{}, fmt.Errorf("trivy config %s wrote no report: %v\n%s", dir, err, stderr.String())
	}
	var parsed trivyOutput
	if err := json.Unmarshal(b, &parsed); err != nil {
		return TrivyReport{}, fmt.Errorf("trivy report is not JSON (%v)", err)
	}
	rep := TrivyReport{Scanned: map[string]bool{}}
	for _, r := range parsed.Results {
		if r.Class != "config" || r.Type != "kubernetes" {
			continue
		}
		file := filepath.ToSlash(strings.TrimPrefix(r.Target, dir+string(filepath.Separator)))
		rep.Scanned[file] = true
		for _, m := range r.Misconfigurations {
			if m.Status != "FAIL" {
				continue
			}
			rep.Findings = append(rep.Findings, TrivyFinding{File: file, Check: m.ID, Title: m.Title, Severity: m.Severity, Message: m.Message})
		}
	}
	return rep, nil
}

// clusterScopedKinds are the cluster-scoped kinds the stacks and charts
// render; every other kind gets its release's namespace when the chart
// leaves it out, as Helm does on install.
var clusterScopedKinds = map[string]bool{
	"Namespace": true, "ClusterRole": true, "ClusterRoleBinding": true, "CustomResourceDefinition": true,
	"ValidatingWebhookConfiguration": true, "MutatingWebhookConfiguration": true, "ValidatingAdmissionPolicy": true,
	"ValidatingAdmissionPolicyBinding": true, "StorageClass": true, "PriorityClass": true, "IngressClass": true,
	"GatewayClass": true, "APIService": true, "PersistentVolume": true, "ClusterIssuer": true,
	"IngressClassParams": true, "CSIDriver": true, "RuntimeClass": true,
}
