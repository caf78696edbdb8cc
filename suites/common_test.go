package suites

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"gamma-conformance/profiles"
)

var progressMu sync.Mutex

// progress prints one line with the elapsed run time to stderr, which go
// test and Ginkgo leave alone, so it shows up at once even when stdout is
// buffered per test.
func progress(format string, args ...any) {
	progressMu.Lock()
	defer progressMu.Unlock()
	fmt.Fprintf(os.Stderr, "[%7.1fs] %s\n", time.Since(runStart).Seconds(), fmt.Sprintf(format, args...))
}

// dropped are the flags a rerun command replaces: test selection of go
// test, the upstream runner and Ginkgo.
var dropped = []string{"test.run", "run-test", "skip-tests", "ginkgo.focus", "ginkgo.skip", "ginkgo.label-filter", "ginkgo.focus-file", "ginkgo.skip-file"}

// isBoolFlag reports whether the flag takes no separate value argument.
func isBoolFlag(name string) bool {
	f := flag.Lookup(name)
	if f == nil {
		return false
	}
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// rerunCommand is the command line that reruns one test: this binary with
// the same arguments, minus test selection, plus -test.run=^<test>$ and the
// given selection flags.
func rerunCommand(test string, selection ...string) string {
	exe := os.Args[0]
	if abs, err := filepath.Abs(exe); err == nil {
		exe = abs
	}
	out := []string{shellQuote(exe), shellQuote("-test.run=^" + test + "$")}
	args := os.Args[1:]
	for i := 0; i < len(args); i++ {
		name, hasValue := flagName(args[i])
		if name == "" || !slices.Contains(dropped, name) {
			out = append(out, shellQuote(args[i]))
			continue
		}
		if !hasValue && !isBoolFlag(name) && i+1 < len(args) {
			i++ // the value is the next argument
		}
	}
	for _, s := range selection {
		out = append(out, shellQuote(s))
	}
	return strings.Join(out, " ")
}

// flagName parses "-name", "--name" or "-name=value".
func flagName(arg string) (string, bool) {
	if !strings.HasPrefix(arg, "-") || arg == "-" || arg == "--" {
		return "", false
	}
	name := strings.TrimLeft(arg, "-")
	if n, _, ok := strings.Cut(name, "="); ok {
		return n, true
	}
	return name, false
}

func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=./:,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// flagLookupValue is the value of a registered flag, "" when there is none.
func flagLookupValue(name string) string {
	if f := flag.Lookup(name); f != nil {
		return f.Value.String()
	}
	return ""
}

// featureFlag returns the names in the comma-separated value of a flag.
func featureFlag(name string) []string {
	var out []string
	for _, s := range strings.Split(flagLookupValue(name), ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// checkFeatureFlags fails on a name in --supported-features or
// --exempt-features that no suite knows (upstream ignores those silently).
func checkFeatureFlags() error {
	for _, name := range []string{"supported-features", "exempt-features"} {
		if err := profiles.CheckFeatureNames("--"+name, featureFlag(name)); err != nil {
			return err
		}
	}
	return nil
}

func flagSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
