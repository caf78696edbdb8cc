package gatewayapi

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/modfile"
)

// nested is the release whose upstream runner is the nested module.
func nested(t *testing.T) (Release, *modfile.File) {
	t.Helper()
	rel, err := Lookup(V170)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("..", rel.ModuleDir, "go.mod")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (fix: the nested module %s must be committed)", err, rel.ModuleDir)
	}
	f, err := modfile.Parse(path, raw, nil)
	if err != nil {
		t.Fatal(err)
	}
	return rel, f
}

// TestNestedModulePins: the v1.7.0 runner's go.mod pins Go 1.27.0 and the
// toolchain, requires both v1.7.0 modules, builds this repository's
// packages from the working tree and replaces conformance-images v0.2.0
// (no zip on the proxy) with v0.1.0.
func TestNestedModulePins(t *testing.T) {
	rel, f := nested(t)
	if f.Go == nil || f.Go.Version != "1.27.0" || f.Toolchain == nil || f.Toolchain.Name != rel.Toolchain {
		t.Errorf("go %v toolchain %v, want go 1.27.0 toolchain %s", f.Go, f.Toolchain, rel.Toolchain)
	}
	want := map[string]string{"sigs.k8s.io/gateway-api": rel.Version, "sigs.k8s.io/gateway-api/conformance": rel.Version}
	for _, r := range f.Require {
		if v, ok := want[r.Mod.Path]; ok && v == r.Mod.Version {
			delete(want, r.Mod.Path)
		}
	}
	if len(want) > 0 {
		t.Errorf("go.mod does not require %v", want)
	}
	replaces := map[string]string{}
	for _, r := range f.Replace {
		replaces[r.Old.Path] = r.New.Path + "@" + r.New.Version
	}
	if got := replaces["sigs.k8s.io/gateway-api-conformance-images"]; got != "sigs.k8s.io/gateway-api-conformance-images@v0.1.0" {
		t.Errorf("conformance-images replaced by %q, want v0.1.0", got)
	}
	if got := replaces["gamma-conformance"]; got != "../..@" {
		t.Errorf("gamma-conformance replaced by %q, want the working tree ../..", got)
	}
}

// TestNestedModuleBuilds builds the v1.7.0 upstream runner as `make
// upstream17-bin` does (GOTOOLCHAIN=go1.27.3, fetched from the module proxy
// when missing). Skipped with -short, or when the toolchain cannot be had.
func TestNestedModuleBuilds(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the nested module build takes a minute warm, ~10 minutes cold")
	}
	rel, _ := nested(t)
	out := filepath.Join(t.TempDir(), rel.UpstreamBinary)
	cmd := exec.Command("go", "test", "-c", "-o", out, ".")
	cmd.Dir = filepath.Join("..", rel.ModuleDir)
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN="+rel.Toolchain)
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	start := time.Now()
	if err := cmd.Run(); err != nil {
		if strings.Contains(log.String(), "downloading "+rel.Toolchain) || strings.Contains(log.String(), "toolchain not available") {
			t.Skipf("the Go toolchain %s cannot be fetched from the module proxy (GOPROXY=%s): %s", rel.Toolchain, os.Getenv("GOPROXY"), log.String())
		}
		t.Fatalf("building %s: %v\n%s", rel.ModuleDir, err, log.String())
	}
	t.Logf("built %s in %s", rel.UpstreamBinary, time.Since(start).Round(time.Second))
	if fi, err := os.Stat(out); err != nil || fi.Size() == 0 {
		t.Fatalf("no binary at %s: %v", out, err)
	}
}
