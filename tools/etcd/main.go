// Command etcd is etcd v3.6.16's server, built from this pinned tool module
// for the real-API validation tests (scripts/kube-tools.sh): the Go proxy
// serves the module but no release binaries are reachable from CI.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
