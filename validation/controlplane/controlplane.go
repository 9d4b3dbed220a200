// Package controlplane runs the real kube-apiserver and etcd that
// scripts/kube-tools.sh builds into .tools/bin, through envtest. The
// validation tests, the log agent test and the engine test (engine/) start
// their API servers with it.
package controlplane

import (
	"path/filepath"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// Environment is an envtest environment that starts kube-apiserver and etcd
// from binDir (never binaries found through KUBEBUILDER_ASSETS or
// TEST_ASSET_*), with timeouts that allow for two cores shared with
// compilers. Add CRDs before Start if needed.
func Environment(binDir string) *envtest.Environment {
	useExisting := false
	env := &envtest.Environment{
		BinaryAssetsDirectory:    binDir,
		UseExistingCluster:       &useExisting,
		ControlPlaneStartTimeout: 2 * time.Minute,
		ControlPlaneStopTimeout:  time.Minute,
	}
	env.ControlPlane.GetAPIServer().Path = filepath.Join(binDir, "kube-apiserver")
	env.ControlPlane.Etcd = &envtest.Etcd{Path: filepath.Join(binDir, "etcd")}
	return env
}
