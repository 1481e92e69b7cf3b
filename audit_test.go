package qorgau_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"strconv"
	"testing"

	"qorgau.kz/qorgau"
)

// TestAuditActionsComplete reads this package's source and checks that
// every Audit… string constant is in AuditActions, so that a new action
// cannot be added without a name on the audit page and a place in its
// filter (internal/web's catalogue test goes over AuditActions).
func TestAuditActionsComplete(t *testing.T) {
	pkgs, err := parser.ParseDir(token.NewFileSet(), ".", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range pkgs["qorgau"].Files {
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, spec := range g.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					lit, ok := vs.Values[i].(*ast.BasicLit)
					if len(name.Name) <= len("Audit") || name.Name[:5] != "Audit" || !ok || lit.Kind != token.STRING {
						continue
					}
					n++
					if v, _ := strconv.Unquote(lit.Value); !slices.Contains(qorgau.AuditActions, v) {
						t.Errorf("%s (%q) is not in AuditActions", name.Name, v)
					}
				}
			}
		}
	}
	if n != len(qorgau.AuditActions) {
		t.Errorf("%d Audit… constants, but AuditActions has %d entries", n, len(qorgau.AuditActions))
	}
}
