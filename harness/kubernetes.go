package harness

import (
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/cnplatform/platform/components/kubeobject"
)

// KubernetesObject is a Kubernetes object the program declares, as it would
// be sent to the API server (secret values replaced by "[secret]").
type KubernetesObject struct {
	URN string
	// Fields: the object (Object) and its Kind, Name and Namespace.
	kubeobject.Fields
}

// KubernetesObjects returns every Kubernetes object declared directly (Helm
// releases, whose contents the chart renders at deploy time, are not
// included).
func (r *Result) KubernetesObjects() []KubernetesObject {
	var out []KubernetesObject
	for _, res := range r.Resources {
		if !res.Custom || !strings.HasPrefix(res.Type, "kubernetes:") || strings.HasPrefix(res.Type, "kubernetes:helm.sh/") {
			continue
		}
		parts := strings.Split(res.Type, ":")
		if len(parts) != 3 {
			continue
		}
		apiVersion := strings.TrimPrefix(parts[1], "core/")
		obj := res.PlainInputs()
		obj["apiVersion"] = apiVersion
		obj["kind"] = parts[2]
		if parts[2] == "Secret" && apiVersion == "v1" {
			// data values are base64; keep hidden values valid base64.
			if data, ok := obj["data"].(map[string]any); ok {
				for k, v := range data {
					if v == "[secret]" {
						data[k] = base64.StdEncoding.EncodeToString([]byte("[secret]"))
					}
				}
			}
		}
		out = append(out, KubernetesObject{URN: res.URN, Fields: kubeobject.Fields{Object: obj}})
	}
	return out
}

// FileName is a stable file name for the object.
func (o KubernetesObject) FileName() string {
	ns := o.Namespace()
	if ns == "" {
		ns = "cluster"
	}
	return strings.ToLower(fmt.Sprintf("%s_%s_%s.yaml", o.Kind(), ns, o.Name()))
}
