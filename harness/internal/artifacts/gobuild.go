package artifacts

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// goEnv is the environment of every go command run here: the module proxy
// only (never a direct fetch from an origin host), static binaries, no VCS
// stamping, no toolchain download.
func goEnv() []string {
	proxy := os.Getenv("GOPROXY")
	if proxy == "" {
		out, _ := exec.Command("go", "env", "GOPROXY").Output()
		proxy = strings.TrimSpace(string(out))
	}
	var kept []string
	for _, p := range strings.FieldsFunc(proxy, func(r rune) bool { return r == ',' || r == '|' }) {
		if p != "direct" && p != "off" {
			kept = append(kept, p)
		}
	}
	env := []string{}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "GOPROXY", "GOFLAGS", "CGO_ENABLED", "GOTOOLCHAIN", "GOWORK", "GO111MODULE":
			continue
		}
		env = append(env, kv)
	}
	return append(env, "GOPROXY="+strings.Join(kept, ","), "GOFLAGS=-buildvcs=false -mod=mod",
		"CGO_ENABLED=0", "GOTOOLCHAIN=local", "GOWORK=off", "GO111MODULE=on")
}

// goRun runs the go command in dir and returns its standard output; on
// failure the error carries the command's last output lines.
func goRun(ctx context.Context, dir string, args ...string) ([]byte, error) {
	if _, err := exec.LookPath("go"); err != nil {
		return nil, fmt.Errorf("the go command is needed to build the cluster binaries: install Go 1.26 and put it on PATH")
	}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = goEnv()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go %s (in %s): %w\n%s", strings.Join(args, " "), dir, err, tail(stderr.String(), 20))
	}
	return stdout.Bytes(), nil
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// modulePath returns the directory of a downloaded module and its go.mod file.
func downloadModule(ctx context.Context, dir, mod string) (moduleDir, goMod string, err error) {
	out, err := goRun(ctx, dir, "mod", "download", "-json", mod)
	if err != nil {
		return "", "", err
	}
	var info struct{ Dir, GoMod, Error string }
	if err := json.Unmarshal(out, &info); err != nil {
		return "", "", fmt.Errorf("go mod download %s: %w", mod, err)
	}
	if info.Error != "" {
		return "", "", fmt.Errorf("go mod download %s: %s", mod, info.Error)
	}
	return info.Dir, info.GoMod, nil
}

// writeModule creates (or rewrites) a throwaway module in dir.
func writeModule(dir, goMod string, files map[string]string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(goMod), 0o644); err != nil {
		return err
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// buildInto builds pkgs of the module in modDir into a fresh directory that
// replaces dst only when every binary was built.
func buildInto(ctx context.Context, modDir, dst, ldflags string, pkgs ...string) error {
	tmp := dst + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return err
	}
	args := append([]string{"build", "-trimpath", "-ldflags", ldflags, "-o", tmp + "/"}, pkgs...)
	if _, err := goRun(ctx, modDir, args...); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	return os.Rename(tmp, dst)
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
