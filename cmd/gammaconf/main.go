// Command gammaconf brings up the cluster the GAMMA conformance suites run
// against, installs the Gateway API CRDs and the reference mesh, runs the
// suites and renders their reports.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"gamma-conformance/harness"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := execute(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// execute runs gammaconf with args and returns its exit code; every error
// ends as one line on stderr.
func execute(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := &cobra.Command{
		Use:           "gammaconf",
		Short:         "GAMMA (Gateway API for mesh) conformance harness",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &exitError{exitUsage, err} })
	root.AddCommand(clusterCommand(), crdsCommand(), meshCommand(), runCommand(), conformanceCommand(), reportCommand(), badgeCommand())
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	fmt.Fprintln(stderr, "gammaconf:", err)
	var ee *exitError
	switch {
	case errors.As(err, &ee):
		return ee.code
	case harness.IsSetup(err):
		return exitUsage
	default:
		return exitFailed
	}
}
