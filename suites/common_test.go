package suites

import (
	"time"

	"gamma-conformance/profiles"
	"gamma-conformance/suites/internal/cli"
)

// The binary's helpers live in package cli, shared with the v1.7.0 upstream
// binary (suites/upstream17); these are their names here.
var (
	rerunCommand    = cli.RerunCommand
	flagLookupValue = cli.FlagValue
	featureFlag     = cli.FlagList
	flagSet         = cli.FlagSet
	requireCluster  = cli.RequireCluster
)

// progress prints one line with the elapsed run time to stderr.
func progress(format string, args ...any) {
	if runStart.IsZero() {
		runStart = time.Now()
	}
	cli.Progress(runStart, format, args...)
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
