package proxy

import (
	"go/ast"
	"go/doc"
	"go/parser"
	"go/token"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestDocsListEveryRoute checks that the Service type's doc and the
// package doc name every route routes() registers, so that a new
// webhook cannot be served undocumented.
func TestDocsListEveryRoute(t *testing.T) {
	t.Parallel()
	fset := token.NewFileSet()
	names, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var files []*ast.File
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	var routes []string
	for _, f := range files {
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Name.Name != "routes" || fn.Recv == nil {
				continue
			}
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
					s, err := strconv.Unquote(lit.Value)
					if err == nil && strings.Contains(s, "/") {
						routes = append(routes, s[strings.LastIndex(s, " ")+1:])
					}
				}
				return true
			})
		}
	}
	if len(routes) < 8 {
		t.Fatalf("found %d routes in routes() (%q), want at least the 8 webhooks", len(routes), routes)
	}
	p, err := doc.NewFromFiles(fset, files, "github.com/voiceproxy/voiceproxy/proxy", doc.AllDecls)
	if err != nil {
		t.Fatal(err)
	}
	var serviceDoc string
	for _, typ := range p.Types {
		if typ.Name == "Service" {
			serviceDoc = typ.Doc
		}
	}
	for name, text := range map[string]string{"the Service type's doc": serviceDoc, "the package doc": p.Doc} {
		for _, r := range routes {
			// The route as a word: "/input" is not "/inputs" nor part of
			// "/input-foo".
			if !regexp.MustCompile(regexp.QuoteMeta(r) + `\b([^-/]|$)`).MatchString(text) {
				t.Errorf("%s does not name the route %s that routes() serves", name, r)
			}
		}
	}
}
