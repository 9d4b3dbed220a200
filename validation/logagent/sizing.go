package logagent

import (
	"fmt"
	"go/ast"
	"go/constant"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"path/filepath"
)

// Sizing is the buffer sizing assumption of components/logging
// (args.go): a container log line of LineBytes in the node's files takes
// BufferBytesPerLine in Fluent Bit's filesystem buffer.
type Sizing struct {
	LineBytes, BufferBytesPerLine int64
}

// ReadSizing reads the two constants from the logging component's source,
// so the scenarios measure the assumption the deployed buffer is sized
// with (this module does not import the Pulumi program).
func ReadSizing(repoRoot string) (Sizing, error) {
	path := filepath.Join(repoRoot, "components", "logging", "args.go")
	src, err := os.ReadFile(path)
	if err != nil {
		return Sizing{}, err
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, src, 0)
	if err != nil {
		return Sizing{}, err
	}
	values := map[string]int64{}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, spec := range g.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, name := range vs.Names {
				if i >= len(vs.Values) {
					continue
				}
				tv, err := types.Eval(fset, nil, vs.Values[i].Pos(), types.ExprString(vs.Values[i]))
				if err != nil || tv.Value == nil {
					continue
				}
				if v, ok := constant.Int64Val(constant.ToInt(tv.Value)); ok {
					values[name.Name] = v
				}
			}
		}
	}
	s := Sizing{LineBytes: values["SizingLineBytes"], BufferBytesPerLine: values["BufferBytesPerLine"]}
	if s.LineBytes <= 0 || s.BufferBytesPerLine <= 0 {
		return s, fmt.Errorf("%s: constants SizingLineBytes and BufferBytesPerLine not found as integer literals", path)
	}
	return s, nil
}
