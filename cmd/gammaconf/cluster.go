package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"gamma-conformance/harness"
	"gamma-conformance/harness/kind"
	"gamma-conformance/harness/local"
	"gamma-conformance/harness/providers"
)

type clusterFlags struct {
	provider    string
	dir         string
	name        string
	retain      bool
	kubeconfig  string
	context     string
	offline     bool
	verifyClean bool
}

func clusterCommand() *cobra.Command {
	f := &clusterFlags{}
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "bring the test cluster up or down, or show its status",
		Long: `Bring the test cluster up or down, or show its status.

Providers: local (an embedded single-node cluster on this Linux host, needs
root, no Docker), kind (a kind cluster from a locally built node image), and
existing (--kubeconfig of a cluster you have: up only checks that it answers
and serves the Gateway API CRDs; down never touches it).

Exit codes: 0 done; 1 the step failed; 2 bad input or setup (unknown
provider, not root, a kubeconfig that is unreadable or whose cluster does not
answer, no Gateway API CRDs on an existing cluster). The error says the fix.`,
	}
	f.register(cmd)
	cmd.AddCommand(&cobra.Command{
		Use:   "up",
		Short: "create the cluster (or reuse it when it is up) and print its kubeconfig path",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := f.newProvider()
			if err != nil {
				return err
			}
			c, err := p.Up(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "kubeconfig: %s\n", c.Kubeconfig)
			return nil
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "down",
		Short: "remove the cluster and everything up changed on the host",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := f.newProvider()
			if err != nil {
				return err
			}
			return p.Down(cmd.Context())
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "status",
		Short: "say whether the cluster is up and healthy (exit 1 if not)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := f.newProvider()
			if err != nil {
				return err
			}
			s, err := p.Status(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), s)
			return nil
		},
	})
	return cmd
}

// register adds the provider flags to cmd and its subcommands.
func (f *clusterFlags) register(cmd *cobra.Command) {
	pf := cmd.PersistentFlags()
	pf.StringVar(&f.provider, "provider", "local", "cluster provider: "+strings.Join(providers.Names, ", ")+" (local: this host, needs Linux and root)")
	pf.StringVar(&f.dir, "dir", "", "state directory, the kubeconfig is <dir>/kubeconfig (default "+local.DefaultDir+", or "+kind.DefaultDir+" for kind)")
	pf.StringVar(&f.name, "name", "gamma", "kind provider: cluster name")
	pf.BoolVar(&f.retain, "retain", false, "kind provider: keep the nodes when creating the cluster fails (for debugging)")
	pf.StringVar(&f.kubeconfig, "kubeconfig", "", "existing provider: kubeconfig of the cluster")
	pf.StringVar(&f.context, "context", "", "existing provider: kubeconfig context (default: current context)")
	pf.BoolVar(&f.offline, "offline", true, "never pull anything: build and preload every image (no registry is reachable here, so this is always on)")
	pf.BoolVar(&f.verifyClean, "verify-clean", false, "local provider: record the host state at up; down then fails if the host differs")
}

func (f *clusterFlags) newProvider() (harness.Provider, error) {
	if !f.offline {
		return nil, harness.Setupf("--offline=false is not supported: no registry is reachable, every image is built locally")
	}
	return providers.New(f.provider, providers.Options{Dir: f.dir, Name: f.name, Kubeconfig: f.kubeconfig, Context: f.context,
		Out: os.Stderr, Retain: f.retain, VerifyClean: f.verifyClean})
}
