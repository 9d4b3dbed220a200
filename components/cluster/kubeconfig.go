package cluster

import (
	"encoding/json"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	storagev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/storage/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Kubeconfig renders a kubeconfig (JSON is valid kubeconfig) for the cluster.
// It holds no credentials: kubectl and the Kubernetes provider call
// `aws eks get-token` with whatever AWS identity is active, so no profile is
// hard-coded.
func Kubeconfig(name, endpoint, caData, region string) (string, error) {
	cfg := map[string]any{
		"apiVersion":      "v1",
		"kind":            "Config",
		"current-context": name,
		"clusters": []any{map[string]any{
			"name":    name,
			"cluster": map[string]any{"server": endpoint, "certificate-authority-data": caData},
		}},
		"contexts": []any{map[string]any{
			"name":    name,
			"context": map[string]any{"cluster": name, "user": name},
		}},
		"users": []any{map[string]any{
			"name": name,
			"user": map[string]any{"exec": map[string]any{
				"apiVersion":      "client.authentication.k8s.io/v1beta1",
				"command":         "aws",
				"args":            []string{"eks", "get-token", "--cluster-name", name, "--region", region, "--output", "json"},
				"interactiveMode": "Never",
			}},
		}},
	}
	b, err := json.Marshal(cfg)
	return string(b), err
}

// VolumeClusterTag is the tag key on every volume of the cluster's gp3
// StorageClass.
func VolumeClusterTag(clusterName string) string { return "kubernetes.io/cluster/" + clusterName }

// newStorageClass makes encrypted gp3 the cluster's default volume type.
//
// Its volumes carry the tag kubernetes.io/cluster/<cluster>=owned (what the
// driver's --k8s-tag-cluster-id writes; StorageClass tagSpecification_<n>
// parameters, "StorageClass Tagging" in the driver's docs/tagging.md, v1.6.0
// and later), so a volume a destroy leaves behind can be found by its
// cluster (docs/operations.md).
func newStorageClass(ctx *pulumi.Context, name, clusterName string, provider *kubernetes.Provider, parent pulumi.ResourceOption, after []pulumi.Resource) (*storagev1.StorageClass, error) {
	return storagev1.NewStorageClass(ctx, name+"-gp3", &storagev1.StorageClassArgs{
		Metadata: &metav1.ObjectMetaArgs{
			Name: pulumi.String("gp3"),
			Annotations: pulumi.StringMap{
				"storageclass.kubernetes.io/is-default-class": pulumi.String("true"),
			},
		},
		Provisioner: pulumi.String("ebs.csi.aws.com"),
		Parameters: pulumi.StringMap{
			"type":               pulumi.String("gp3"),
			"encrypted":          pulumi.String("true"),
			"tagSpecification_1": pulumi.String(VolumeClusterTag(clusterName) + "=owned"),
		},
		VolumeBindingMode:    pulumi.String("WaitForFirstConsumer"), // the volume follows the pod's zone
		AllowVolumeExpansion: pulumi.Bool(true),
		ReclaimPolicy:        pulumi.String("Delete"),
	}, parent, pulumi.Provider(provider), pulumi.DependsOn(after))
}
