package validation

import (
	"context"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// FieldManager is the server-side apply field manager of the validation.
const FieldManager = "platform-validation"

// Apply server-side applies obj for real, as pulumi-kubernetes does by
// default. Used for the Namespaces other objects need.
func Apply(ctx context.Context, c client.Client, obj *unstructured.Unstructured) error {
	return c.Apply(ctx, client.ApplyConfigurationFromUnstructured(obj.DeepCopy()),
		client.FieldOwner(FieldManager), client.ForceOwnership)
}

// DryRunApply server-side applies obj with dryRun=All: the API server runs
// defaulting, schema and CEL validation and admission, and persists
// nothing. Server-side apply rejects fields the schema does not declare and
// duplicate keys in associative lists.
func DryRunApply(ctx context.Context, c client.Client, obj *unstructured.Unstructured) error {
	return c.Apply(ctx, client.ApplyConfigurationFromUnstructured(obj.DeepCopy()),
		client.DryRunAll, client.FieldOwner(FieldManager), client.ForceOwnership)
}

// Check applies o (for real when it is a Namespace, else as a dry-run)
// after the checks the server cannot make on an offline plan, and returns
// why it was rejected, or nil.
func Check(ctx context.Context, c client.Client, o Object) error {
	if keys := SecretDataPlaceholders(o); len(keys) > 0 {
		return fmt.Errorf("data[%s] holds a secret output: put secrets in stringData (data must be base64, and the project delivers secrets through stringData)",
			strings.Join(keys, ", "))
	}
	if o.GetName() == "" {
		return fmt.Errorf("metadata.name is not set: give every hand-written object an explicit name (the offline plan cannot show Pulumi's auto-names)")
	}
	apply := DryRunApply
	if o.GetAPIVersion() == "v1" && o.GetKind() == "Namespace" {
		apply = Apply
	}
	err := apply(ctx, c, o.Unstructured)
	if err != nil && HasUnknown(o) {
		return fmt.Errorf("%w (note: the object holds %q values, computed at deploy time)", err, UnknownPlaceholder)
	}
	return err
}
