// Command runc-nosysres is a runc wrapper for dockerd on hosts whose
// capability bounding set lacks CAP_SYS_RESOURCE (these CI machines): runc
// fails with "unable to apply caps: operation not permitted" for privileged
// containers (kind nodes) because they ask for every capability. It removes
// CAP_SYS_RESOURCE from the container's or exec'd process's capabilities,
// then runs the real runc with the same arguments.
// Used only by hack/kind-docker-host.sh.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

const realRunc = "/usr/sbin/runc"

func main() {
	if err := rewrite(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "runc-nosysres:", err)
		os.Exit(1)
	}
	args := append([]string{realRunc}, os.Args[1:]...)
	if err := syscall.Exec(realRunc, args, os.Environ()); err != nil {
		fmt.Fprintln(os.Stderr, "runc-nosysres: exec runc:", err)
		os.Exit(1)
	}
}

// rewrite edits the OCI spec (create/run: <bundle>/config.json) or process
// file (exec --process) that runc is about to use.
func rewrite(args []string) error {
	cmd, bundle, process := "", ".", ""
	for i := 0; i < len(args); i++ {
		a := args[i]
		next := func() string {
			if i+1 < len(args) {
				i++
				return args[i]
			}
			return ""
		}
		switch {
		case cmd == "" && (a == "create" || a == "run" || a == "exec"):
			cmd = a
		case a == "--bundle" || a == "-b":
			bundle = next()
		case a == "--process" || a == "-p":
			process = next()
		}
	}
	switch {
	case (cmd == "create" || cmd == "run"):
		return edit(filepath.Join(bundle, "config.json"), true)
	case cmd == "exec" && process != "":
		return edit(process, false)
	}
	return nil
}

func edit(path string, spec bool) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	proc := doc
	if spec {
		p, ok := doc["process"].(map[string]any)
		if !ok {
			return nil
		}
		proc = p
	}
	caps, ok := proc["capabilities"].(map[string]any)
	if !ok {
		return nil
	}
	for set, v := range caps {
		list, ok := v.([]any)
		if !ok {
			continue
		}
		kept := []any{}
		for _, c := range list {
			if c != "CAP_SYS_RESOURCE" {
				kept = append(kept, c)
			}
		}
		caps[set] = kept
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	return os.WriteFile(path, out, 0o644)
}
