package reportgen

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// editJSON rewrites one top-level field of a results file in place.
func editJSON(t *testing.T, path, field string, value any) {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(readFile(t, path), &m); err != nil {
		t.Fatal(err)
	}
	m[field] = value
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestLoadRejectsBadInput(t *testing.T) {
	cases := []struct {
		name  string
		setup func(t *testing.T, resultsPath string) string // returns the path to load
		want  []string
	}{
		{"missing results file", func(t *testing.T, p string) string { return filepath.Join(filepath.Dir(p), "nope.json") }, []string{"nope.json", "fix:"}},
		{"folder without results.json", func(t *testing.T, p string) string { return t.TempDir() }, []string{"results.json", "fix:"}},
		{"other schema version", func(t *testing.T, p string) string {
			editJSON(t, p, "schemaVersion", "gamma-conformance.results/v0")
			return p
		}, []string{`"gamma-conformance.results/v0"`, "fix:"}},
		{"upstream report missing", func(t *testing.T, p string) string {
			os.Remove(filepath.Join(filepath.Dir(p), "upstream-report.yaml"))
			return p
		}, []string{"upstream-report.yaml", "fix:"}},
		{"upstream report of another run", func(t *testing.T, p string) string {
			up := filepath.Join(filepath.Dir(p), "upstream-report.yaml")
			os.WriteFile(up, []byte(strings.Replace(string(readFile(t, up)), "gatewayAPIVersion: v1.6.3", "gatewayAPIVersion: v1.5.0", 1)), 0o600)
			return p
		}, []string{"v1.5.0", "fix:"}},
		{"upstream report is not a ConformanceReport", func(t *testing.T, p string) string {
			os.WriteFile(filepath.Join(filepath.Dir(p), "upstream-report.yaml"), []byte("kind: HTTPRoute\napiVersion: gateway.networking.k8s.io/v1\n"), 0o600)
			return p
		}, []string{"HTTPRoute", "fix:"}},
		{"upstream report with unknown fields", func(t *testing.T, p string) string {
			up := filepath.Join(filepath.Dir(p), "upstream-report.yaml")
			os.WriteFile(up, append(readFile(t, up), []byte("surprise: 1\n")...), 0o600)
			return p
		}, []string{"surprise", "fix:"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := c.setup(t, fixtureRun(t))
			run, err := Load(path)
			if err == nil {
				t.Fatalf("Load accepted it: %+v", run)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

func TestWriteLeavesNothingOnFailure(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "new", "reports")
	// The second file cannot be written (its folder is a file): the first
	// must not appear, and no folder may be left behind.
	files := []File{{"a.txt", []byte("a")}, {"x/b.txt", []byte("b")}}
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, "x"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Write(out, files); err == nil {
		t.Fatal("Write succeeded with a file where a folder must go")
	}
	entries, _ := os.ReadDir(out)
	if len(entries) != 1 || entries[0].Name() != "x" {
		t.Errorf("after a failed Write the folder holds %v, want only the blocker x", entries)
	}
	if err := Write(filepath.Join(blocker, "reports"), files); err == nil {
		t.Fatal("Write succeeded under a regular file")
	}
	if _, err := os.Stat(filepath.Join(dir, "new", "reports", "a.txt")); err == nil {
		t.Error("a.txt was written by a failed Write")
	}
}

func TestWriteRemovesFoldersItMadeOnFailure(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "a", "b")
	// "c/ok.txt" is a file and "c/ok.txt/bad" needs it to be a folder: the
	// last rename fails after a/, a/b/, a/b/c/ and a/b/c/ok.txt/ were made.
	files := []File{{"c/ok.txt", []byte("1")}, {"c/ok.txt/bad", []byte("2")}}
	if err := Write(out, files); err == nil {
		t.Fatal("Write succeeded with a file used as a folder")
	}
	if _, err := os.Stat(filepath.Join(dir, "a")); !os.IsNotExist(err) {
		t.Errorf("Write left the folder it made behind: %v", err)
	}
}
