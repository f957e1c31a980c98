package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

// The two READMEs a reader moves between: the repository's front door
// and this program's guide.
var readmes = []string{"../../README.md", "README.md"}

// mdBlock is one fenced code block of a Markdown file.
type mdBlock struct {
	lang    string // the fence's info string ("sh", "go", "")
	section string // the "## " heading it sits under, "" before the first
	text    string
}

// mdDoc is a Markdown file read into what these tests check: its code
// blocks, its links and its headings' anchors, all outside code blocks
// except the blocks themselves.
type mdDoc struct {
	blocks  []mdBlock
	links   []string // link and image targets, as written
	anchors map[string]bool
}

var (
	mdLinkRe   = regexp.MustCompile(`!?\[[^\]]*\]\(([^)\s]+)\)`)
	mdInlineRe = regexp.MustCompile("`[^`]*`")
)

// readMarkdown reads path into an mdDoc.
func readMarkdown(t *testing.T, path string) mdDoc {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := mdDoc{anchors: map[string]bool{}}
	seen := map[string]int{}
	var section string
	var cur *mdBlock
	for _, line := range strings.Split(string(data), "\n") {
		trimmed := strings.TrimLeft(line, " ")
		if fence, ok := strings.CutPrefix(trimmed, "```"); ok {
			if cur == nil {
				cur = &mdBlock{lang: strings.TrimSpace(fence), section: section}
			} else {
				doc.blocks = append(doc.blocks, *cur)
				cur = nil
			}
			continue
		}
		if cur != nil {
			cur.text += line + "\n"
			continue
		}
		if h, ok := strings.CutPrefix(line, "#"); ok && strings.HasPrefix(strings.TrimLeft(h, "#"), " ") {
			title := strings.TrimSpace(strings.TrimLeft(h, "#"))
			if strings.HasPrefix(line, "## ") {
				section = title
			}
			slug := githubSlug(title)
			if n := seen[slug]; n > 0 {
				doc.anchors[fmt.Sprintf("%s-%d", slug, n)] = true
			} else {
				doc.anchors[slug] = true
			}
			seen[slug]++
			continue
		}
		for _, m := range mdLinkRe.FindAllStringSubmatch(mdInlineRe.ReplaceAllString(line, ""), -1) {
			doc.links = append(doc.links, m[1])
		}
	}
	if cur != nil {
		t.Fatalf("%s: a code block under %q is never closed", path, cur.section)
	}
	return doc
}

// githubSlug is the anchor GitHub gives a heading: lower case, spaces
// as hyphens, punctuation other than hyphens and underscores dropped.
func githubSlug(title string) string {
	title = mdInlineRe.ReplaceAllStringFunc(title, func(s string) string { return strings.Trim(s, "`") })
	var b strings.Builder
	for _, r := range strings.ToLower(title) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Every relative link of both READMEs reaches a file or directory of the
// repository, and every anchor a heading of its file; a pkg.go.dev link
// to one of the module's packages names a directory that exists.
func TestREADMELinks(t *testing.T) {
	t.Parallel()
	docs := map[string]mdDoc{}
	for _, path := range readmes {
		docs[filepath.Clean(path)] = readMarkdown(t, path)
	}
	const pkgsite = "https://pkg.go.dev/github.com/voiceproxy/voiceproxy/"
	for path, doc := range docs {
		if len(doc.links) == 0 {
			t.Errorf("%s has no links: the reader cannot get from it to the rest", path)
		}
		for _, link := range doc.links {
			if pkg, ok := strings.CutPrefix(link, pkgsite); ok {
				pkg, _, _ = strings.Cut(pkg, "#")
				if fi, err := os.Stat(filepath.Join("../..", pkg)); err != nil || !fi.IsDir() {
					t.Errorf("%s links %s: no package directory %s", path, link, pkg)
				}
				continue
			}
			if strings.Contains(link, "://") || strings.HasPrefix(link, "mailto:") {
				continue
			}
			target, anchor, _ := strings.Cut(link, "#")
			file := path
			if target != "" {
				file = filepath.Clean(filepath.Join(filepath.Dir(path), target))
				if _, err := os.Stat(file); err != nil {
					t.Errorf("%s links %s: %v", path, link, err)
					continue
				}
			}
			if anchor == "" {
				continue
			}
			if !strings.HasSuffix(file, ".md") {
				t.Errorf("%s links %s: an anchor into a file that is not Markdown", path, link)
				continue
			}
			d, ok := docs[file]
			if !ok {
				d = readMarkdown(t, file)
				docs[file] = d
			}
			if !d.anchors[anchor] {
				t.Errorf("%s links %s: %s has no heading with anchor %q", path, link, file, anchor)
			}
		}
	}
}

// A README Example link, [`ExampleX`](../../proxy/file_test.go), names a
// function of that file.
func TestREADMEExampleLinks(t *testing.T) {
	t.Parallel()
	re := regexp.MustCompile("\\[`(Example[A-Za-z0-9_]*)`\\]\\(([^)#]+)\\)")
	n := 0
	for _, path := range readmes {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(data), -1) {
			n++
			src, err := os.ReadFile(filepath.Join(filepath.Dir(path), m[2]))
			if err != nil {
				t.Errorf("%s links %s to %s: %v", path, m[1], m[2], err)
				continue
			}
			if !strings.Contains(string(src), "\nfunc "+m[1]+"() {\n") {
				t.Errorf("%s links %s to %s, which has no such function", path, m[1], m[2])
			}
		}
	}
	if n < 8 {
		t.Errorf("the READMEs link %d Example functions, want at least the 8 of the root README's table", n)
	}
}

// What checks each shell block of the READMEs, by file and section:
// every block is run by a test, or is one a test cannot run (it needs
// a Vonage account, or is the test suite itself) and says so here.
var readmeShellBlocks = map[[2]string]string{
	{"../../README.md", ""}:                    "the commands to run the demo and the whole suite: CI runs them",
	{"../../README.md", mainWalkthrough}:       "TestTopLevelREADMEWalkthroughIsTheTestedOne: the same as README.md's",
	{"README.md", ""}:                          "go run ./examples/voiceproxy: every test here runs the demo",
	{"README.md", mainWalkthrough}:             "TestREADMEWalkthrough",
	{"README.md", autopilotWalkthrough}:        "TestREADMEAutopilotWalkthrough",
	{"README.md", pinWalkthrough}:              "TestREADMEPINWalkthrough",
	{"README.md", lifeWalkthrough}:             "TestREADMELifecycleWalkthrough",
	{"README.md", callWalkthrough}:             "TestREADMECallControlWalkthrough",
	{"README.md", "Signing a webhook by hand"}: "TestREADMESigningRecipe",
	{"README.md", "Going live on Vonage"}:      "needs a Vonage account; TestREADMEGoingLiveNamesRealSettings checks its names",
	{"README.md", "The numbers CLI"}:           "TestREADMECommands (examples/numbers)",
}

// Every shell block of both READMEs is one readmeShellBlocks knows,
// exactly one per section: a block added without a test fails here, and
// so does a walkthrough whose test would read only its section's first.
func TestREADMEShellBlocksAreRun(t *testing.T) {
	t.Parallel()
	count := map[[2]string]int{}
	for _, path := range readmes {
		for _, b := range readMarkdown(t, path).blocks {
			switch b.lang {
			case "sh", "bash", "shell", "console":
			default:
				continue
			}
			key := [2]string{path, b.section}
			if _, ok := readmeShellBlocks[key]; !ok {
				t.Errorf("%s, section %q: a shell block no test runs:\n%s", path, b.section, b.text)
			}
			count[key]++
		}
	}
	for key, by := range readmeShellBlocks {
		if count[key] != 1 {
			t.Errorf("%s, section %q: %d shell blocks, want the one %s checks", key[0], key[1], count[key], by)
		}
	}
}

// The live block of "Going live on Vonage" sets only variables the demo
// reads and passes only flags it has.
func TestREADMEGoingLiveNamesRealSettings(t *testing.T) {
	t.Parallel()
	var block string
	for _, b := range readMarkdown(t, "README.md").blocks {
		if b.section == "Going live on Vonage" && b.lang == "sh" {
			block = b.text
		}
	}
	var src strings.Builder
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		src.Write(data)
	}
	vars := regexp.MustCompile(`\b([A-Z][A-Z0-9_]+)=`).FindAllStringSubmatch(block, -1)
	if len(vars) < 5 {
		t.Fatalf("the live block sets %d variables, want the credentials and secrets:\n%s", len(vars), block)
	}
	for _, v := range vars {
		if !strings.Contains(src.String(), `"`+v[1]+`"`) {
			t.Errorf("the live block sets %s, which the demo never reads", v[1])
		}
	}
	flags := regexp.MustCompile(` -([a-z][a-z-]*)`).FindAllStringSubmatch(block[strings.Index(block, "go run"):], -1)
	if len(flags) == 0 {
		t.Fatalf("the live block's go run passes no flags:\n%s", block)
	}
	for _, f := range flags {
		if !strings.Contains(src.String(), `"`+f[1]+`"`) {
			t.Errorf("the live block passes -%s, which the demo does not define", f[1])
		}
	}
}
