package proxy

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// demoOnlyModules are the module path prefixes that only the example
// programs (their own module, examples/go.mod) use: a headless browser,
// the Prometheus client and OpenTelemetry's exporters. A host that
// requires this library takes part in the version selection of every
// module the library's go.mod names, so none of these may appear there.
var demoOnlyModules = []string{
	"github.com/chromedp/",
	"github.com/prometheus/",
	"go.opentelemetry.io/otel/exporters/",
}

// requiredModules returns the module paths that the require directives
// of a go.mod file's text name, direct and indirect, in both the single
// line and the block form.
func requiredModules(gomod string) []string {
	var mods []string
	inBlock := false
	for line := range strings.Lines(gomod) {
		line, _, _ = strings.Cut(line, "//")
		f := strings.Fields(line)
		switch {
		case len(f) == 0:
		case inBlock && f[0] == ")":
			inBlock = false
		case inBlock:
			mods = append(mods, f[0])
		case f[0] == "require" && len(f) == 2 && f[1] == "(":
			inBlock = true
		case f[0] == "require" && len(f) >= 3:
			mods = append(mods, f[1])
		}
	}
	return mods
}

// demoOnly returns the paths among mods that demoOnlyModules names.
func demoOnly(mods []string) []string {
	var bad []string
	for _, m := range mods {
		for _, p := range demoOnlyModules {
			if strings.HasPrefix(m, p) {
				bad = append(bad, m)
				break
			}
		}
	}
	return bad
}

// The library's go.mod requires, and its go.sum sums, none of the
// modules only the examples use.
func TestModuleRequiresNoDemoOnlyModules(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join("..", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	mods := requiredModules(string(b))
	if !strings.Contains(string(b), "module github.com/voiceproxy/voiceproxy\n") || len(mods) == 0 {
		t.Fatalf("../go.mod is not the library's, or requires nothing:\n%s", b)
	}
	if bad := demoOnly(mods); len(bad) > 0 {
		t.Errorf("the library's go.mod requires %v, which only examples/ use: require them in examples/go.mod and run go mod tidy in both modules", bad)
	}
	sum, err := os.ReadFile(filepath.Join("..", "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	var summed []string
	for line := range strings.Lines(string(sum)) {
		if f := strings.Fields(line); len(f) > 0 {
			summed = append(summed, f[0])
		}
	}
	if bad := slices.Compact(demoOnly(summed)); len(bad) > 0 {
		t.Errorf("the library's go.sum has sums of %v, which only examples/ use: run go mod tidy", bad)
	}
}

// requiredModules reads both forms of require, skips comments, and
// demoOnly picks out the examples' modules, so that the test above
// fails when one is required.
func TestRequiredModules(t *testing.T) {
	t.Parallel()
	gomod := `module example.com/m

go 1.26.0

require github.com/chromedp/chromedp v0.23.0 // the ops page test

require (
	github.com/google/go-cmp v0.7.0
	// github.com/commented/out v1.0.0
	go.opentelemetry.io/otel/exporters/prometheus v0.69.0 // indirect
)

replace github.com/prometheus/client_golang => ../prom
`
	got := requiredModules(gomod)
	want := []string{"github.com/chromedp/chromedp", "github.com/google/go-cmp", "go.opentelemetry.io/otel/exporters/prometheus"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("requiredModules = %q, want %q", got, want)
	}
	bad := demoOnly(got)
	if wantBad := []string{"github.com/chromedp/chromedp", "go.opentelemetry.io/otel/exporters/prometheus"}; strings.Join(bad, " ") != strings.Join(wantBad, " ") {
		t.Errorf("demoOnly = %q, want %q", bad, wantBad)
	}
}

// internalImports returns, as "file: path", the imports of the library's
// internal packages in the Go files under dir.
func internalImports(t *testing.T, dir string) []string {
	t.Helper()
	var found []string
	fset := token.NewFileSet()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") {
			return err
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, im := range f.Imports {
			p := strings.Trim(im.Path.Value, `"`)
			if p == "github.com/voiceproxy/voiceproxy/internal" || strings.HasPrefix(p, "github.com/voiceproxy/voiceproxy/internal/") {
				found = append(found, path+": "+p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// The examples, a module of their own, use only the library's exported
// packages. The go command would let them import internal/ (their import
// paths sit under the library's), but internal/ may change in any commit
// and the examples show what a program using the library can write.
func TestExamplesImportNoInternalPackage(t *testing.T) {
	t.Parallel()
	if bad := internalImports(t, filepath.Join("..", "examples")); len(bad) > 0 {
		t.Errorf("examples import the library's internal packages; use or add an exported API instead:\n%s", strings.Join(bad, "\n"))
	}
	// The check sees such an import: the library's own packages have them.
	if len(internalImports(t, ".")) == 0 {
		t.Error("internalImports finds no internal import in package proxy, which has some")
	}
}
