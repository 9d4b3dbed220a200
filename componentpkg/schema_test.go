package componentpkg

import (
	"encoding/json"
	"flag"
	"fmt"
	"go/ast"
	"go/doc"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite schema.json from the Go types instead of comparing")

// The schema is generated from the library, never written by hand: each
// component's inputs are the tagged fields of its Args type, with the
// field's doc comment as description, "Required" in it as required, and
// "Default [Constant]" resolved to the constant's value; outputs are the
// component's tagged output fields. `go test ./componentpkg -run TestSchema
// -update` rewrites schema.json; without -update a change to a component's
// inputs fails here until the golden file is rewritten, so review shows it
// as a schema diff.
func TestSchema(t *testing.T) {
	got := generateSchema(t)
	if *update {
		require.NoError(t, os.WriteFile("schema.json", got, 0o644))
		return
	}
	require.Equal(t, string(got), string(Schema), "schema.json drifted from the Go types: go test ./componentpkg -run TestSchema -update")
}

const modulePath = "github.com/cnplatform/platform"

type schemaGen struct {
	t     *testing.T
	docs  map[string]*doc.Package // by import path
	types map[string]any          // object types by token
}

func generateSchema(t *testing.T) []byte {
	g := &schemaGen{t: t, docs: map[string]*doc.Package{}, types: map[string]any{}}
	resources := map[string]any{}
	for _, c := range Components {
		module := strings.Split(c.Token, ":")[1]
		args := reflect.TypeOf(c.Args).Elem()
		res := reflect.TypeOf(c.Resource).Elem()
		inputs, requiredInputs := g.properties(args, module, true)
		outputs, _ := g.properties(res, module, false)
		var requiredOutputs []string
		for name := range outputs {
			requiredOutputs = append(requiredOutputs, name)
		}
		resources[c.Token] = map[string]any{
			"isComponent":     true,
			"description":     g.typeDoc(res),
			"inputProperties": inputs,
			"requiredInputs":  sorted(requiredInputs),
			"properties":      outputs,
			"required":        sorted(requiredOutputs),
		}
	}
	spec := map[string]any{
		"name":        Name,
		"displayName": "Cloud-native platform",
		"version":     Version,
		"description": "Components of the cloud-native platform on EKS: namespaces with the platform's baseline policies, routes on its shared Gateway, IAM roles for service accounts.",
		"repository":  "https://" + modulePath,
		"keywords":    []string{"pulumi", "kubernetes", "eks", "category/cloud", "kind/component"},
		"meta":        map[string]any{"moduleFormat": "(.*)"},
		// No provider configuration; the CLI writes the empty object too.
		"config": map[string]any{},
		"language": map[string]any{
			"nodejs": map[string]any{
				"packageName":          "@cnplatform/platform",
				"respectSchemaVersion": true,
				"dependencies":         map[string]string{"@pulumi/pulumi": "^3.0.0"},
			},
			"python": map[string]any{"packageName": "cnplatform_platform", "respectSchemaVersion": true},
		},
		"resources": resources,
		"types":     g.types,
	}
	out, err := json.MarshalIndent(spec, "", "  ")
	require.NoError(t, err)
	return append(out, '\n')
}

// properties describes typ's tagged fields.
func (g *schemaGen) properties(typ reflect.Type, module string, inputs bool) (map[string]any, []string) {
	props := map[string]any{}
	var required []string
	fields := g.fieldDocs(typ)
	for i := 0; i < typ.NumField(); i++ {
		f := typ.Field(i)
		name, ok := f.Tag.Lookup("pulumi")
		if !ok {
			continue
		}
		text := fields[f.Name]
		require.NotEmpty(g.t, text, "%s.%s has no doc comment: the schema's description comes from it", typ, f.Name)
		p := g.typeOf(f.Type, module, inputs)
		pkg := g.pkg(typ)
		p["description"] = resolveLinks(text, pkg)
		if inputs {
			if d, ok := defaultOf(text, pkg); ok {
				p["default"] = d
			}
			if isRequired(text) {
				required = append(required, name)
			}
		}
		props[name] = p
	}
	return props, required
}

var stringInput = reflect.TypeOf((*pulumi.StringInput)(nil)).Elem()
var stringOutput = reflect.TypeOf(pulumi.StringOutput{})

// typeOf is a field type's schema; plain Go values are plain inputs (they
// must be known when the component is declared), Pulumi inputs are not.
func (g *schemaGen) typeOf(t reflect.Type, module string, input bool) map[string]any {
	p := map[string]any{}
	switch {
	case t == stringInput || t == stringOutput:
		p["type"] = "string"
		return p
	case t.Kind() == reflect.String:
		p["type"] = "string"
	case t.Kind() == reflect.Int:
		p["type"] = "integer"
	case t.Kind() == reflect.Bool:
		p["type"] = "boolean"
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.String:
		p["type"] = "array"
		p["items"] = map[string]any{"type": "string"}
	case t.Kind() == reflect.Map && t.Key().Kind() == reflect.String && t.Elem().Kind() == reflect.String:
		p["type"] = "object"
		p["additionalProperties"] = map[string]any{"type": "string"}
	case t.Kind() == reflect.Struct:
		tok := fmt.Sprintf("%s:%s:%s", Name, module, t.Name())
		props, required := g.properties(t, module, input)
		g.types[tok] = map[string]any{
			"type": "object", "description": g.typeDoc(t), "properties": props, "required": sorted(required),
		}
		p["$ref"] = "#/types/" + tok
	default:
		g.t.Fatalf("%s: no schema type for the Go type %s", module, t)
	}
	if input {
		p["plain"] = true
	}
	return p
}

// pkg parses the doc comments of t's package.
func (g *schemaGen) pkg(t reflect.Type) *doc.Package {
	path := t.PkgPath()
	if p, ok := g.docs[path]; ok {
		return p
	}
	dir := filepath.Join("..", strings.TrimPrefix(path, modulePath+"/"))
	fset := token.NewFileSet()
	entries, err := os.ReadDir(dir)
	require.NoError(g.t, err)
	var files []*ast.File
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, e.Name()), nil, parser.ParseComments)
		require.NoError(g.t, err)
		files = append(files, f)
	}
	p, err := doc.NewFromFiles(fset, files, path, doc.PreserveAST)
	require.NoError(g.t, err)
	g.docs[path] = p
	return p
}

func (g *schemaGen) docType(t reflect.Type) *doc.Type {
	for _, dt := range g.pkg(t).Types {
		if dt.Name == t.Name() {
			return dt
		}
	}
	g.t.Fatalf("no doc of type %s", t)
	return nil
}

func (g *schemaGen) typeDoc(t reflect.Type) string {
	text := g.docType(t).Doc
	// The first paragraph: what follows is about Go.
	text, _, _ = strings.Cut(text, "\n\n")
	return resolveLinks(strings.Join(strings.Fields(text), " "), g.pkg(t))
}

// fieldDocs maps t's field names to their doc comments.
func (g *schemaGen) fieldDocs(t reflect.Type) map[string]string {
	docs := map[string]string{}
	for _, spec := range g.docType(t).Decl.Specs {
		st, ok := spec.(*ast.TypeSpec).Type.(*ast.StructType)
		if !ok {
			continue
		}
		for _, f := range st.Fields.List {
			for _, n := range f.Names {
				docs[n.Name] = strings.Join(strings.Fields(f.Doc.Text()), " ")
			}
		}
	}
	return docs
}

// isRequired: a sentence of the doc says "Required" without a condition.
func isRequired(text string) bool {
	for _, s := range strings.Split(text, ". ") {
		s = strings.TrimSpace(s)
		if strings.HasPrefix(s, "Required") && !strings.HasPrefix(s, "Required unless") {
			return true
		}
	}
	return false
}

var defaultLink = regexp.MustCompile(`Default \[(\w+)\]`)
var docLink = regexp.MustCompile(`\[(\w+)\]`)

// defaultOf resolves "Default [Constant]" to the constant's value.
func defaultOf(text string, p *doc.Package) (any, bool) {
	m := defaultLink.FindStringSubmatch(text)
	if m == nil {
		return nil, false
	}
	return constValue(p, m[1])
}

// resolveLinks writes a doc link to a constant as its value.
func resolveLinks(text string, p *doc.Package) string {
	return docLink.ReplaceAllStringFunc(text, func(link string) string {
		if v, ok := constValue(p, link[1:len(link)-1]); ok {
			return fmt.Sprintf("%q", v)
		}
		return link[1 : len(link)-1]
	})
}

func constValue(p *doc.Package, name string) (any, bool) {
	for _, c := range p.Consts {
		for _, spec := range c.Decl.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, n := range vs.Names {
				if n.Name != name || i >= len(vs.Values) {
					continue
				}
				switch v := vs.Values[i].(type) {
				case *ast.BasicLit:
					if v.Kind == token.STRING {
						s, err := strconv.Unquote(v.Value)
						return s, err == nil
					}
					if v.Kind == token.INT {
						n, err := strconv.Atoi(v.Value)
						return n, err == nil
					}
				case *ast.Ident:
					return constValue(p, v.Name)
				}
			}
		}
	}
	return nil, false
}

func sorted(s []string) []string {
	out := append([]string{}, s...)
	slices.Sort(out)
	return out
}
