package proxy_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// maxFuncLines is the longest a function may be, from its func line to
// its closing brace, in package proxy and in the demo: a reader follows
// one in a screen or two, top to bottom.
const maxFuncLines = 80

// No function of package proxy, its SQL stores or the demo is longer than
// maxFuncLines.
func TestFunctionsAreShort(t *testing.T) {
	t.Parallel()
	for _, dir := range []string{".", "sqlstore", "../examples/voiceproxy"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		if len(files) == 0 {
			t.Fatalf("no Go files in %s", dir)
		}
		fset := token.NewFileSet()
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			file, err := parser.ParseFile(fset, f, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range file.Decls {
				fn, ok := d.(*ast.FuncDecl)
				if !ok || fn.Body == nil {
					continue
				}
				lines := fset.Position(fn.End()).Line - fset.Position(fn.Pos()).Line + 1
				if lines > maxFuncLines {
					t.Errorf("%s: %s is %d lines, more than %d: split it into named steps", f, fn.Name.Name, lines, maxFuncLines)
				}
			}
		}
	}
}
