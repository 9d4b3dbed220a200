// Command nodejs-sdk generates the TypeScript SDK of the platform's
// component package from its schema (componentpkg/schema.json) with the
// Pulumi code generator the CLI itself uses (pkg/v3 codegen/nodejs), called
// directly: `pulumi package gen-sdk --language nodejs` needs the Node.js
// language plugin, whose Go module the proxy does not serve at our SDK's
// version (docs/components.md). The schema is bound and validated against
// Pulumi's metaschema first, so a schema the CLI would refuse fails here.
//
//	go run . <schema.json> <output folder>
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/blang/semver"
	"github.com/pulumi/pulumi/pkg/v3/codegen/nodejs"
	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: nodejs-sdk <schema.json> <output folder>")
		os.Exit(2)
	}
	if err := generate(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintf(os.Stderr, "nodejs-sdk: %v\n", err)
		os.Exit(1)
	}
}

func generate(schemaPath, out string) error {
	raw, err := os.ReadFile(schemaPath)
	if err != nil {
		return err
	}
	var spec schema.PackageSpec
	if err := json.Unmarshal(raw, &spec); err != nil {
		return fmt.Errorf("%s: %w", schemaPath, err)
	}
	pkg, diags, err := schema.BindSpec(spec, noReferences{}, schema.ValidationOptions{})
	if err != nil {
		return fmt.Errorf("%s: %w", schemaPath, err)
	}
	if diags.HasErrors() {
		return fmt.Errorf("%s does not validate against Pulumi's package metaschema: %s", schemaPath, diags.Error())
	}
	if err := pkg.ImportLanguages(map[string]schema.Language{"nodejs": nodejs.Importer}); err != nil {
		return err
	}
	files, err := nodejs.GeneratePackage("platform-nodejs-sdk", pkg, nil, nil, false, noReferences{})
	if err != nil {
		return err
	}
	for name, b := range files {
		p := filepath.Join(out, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// noReferences is the schema loader: the package refers to no other
// package (its inputs are strings, lists, maps and its own types), so any
// reference is a mistake.
type noReferences struct{}

func (noReferences) LoadPackage(pkg string, _ *semver.Version) (*schema.Package, error) {
	return nil, fmt.Errorf("the schema refers to package %s: the platform package refers to none", pkg)
}

func (l noReferences) LoadPackageV2(_ context.Context, d *schema.PackageDescriptor) (*schema.Package, error) {
	return l.LoadPackage(d.Name, nil)
}

func (l noReferences) LoadPackageReference(pkg string, _ *semver.Version) (schema.PackageReference, error) {
	return nil, fmt.Errorf("the schema refers to package %s: the platform package refers to none", pkg)
}

func (l noReferences) LoadPackageReferenceV2(_ context.Context, d *schema.PackageDescriptor) (schema.PackageReference, error) {
	return l.LoadPackageReference(d.Name, nil)
}
