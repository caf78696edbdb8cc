package main

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"
	"k8s.io/client-go/tools/clientcmd"

	"gamma-conformance/harness/crds"
	"gamma-conformance/harness/local"
)

func crdsCommand() *cobra.Command {
	var kubeconfig, channel string
	cmd := &cobra.Command{Use: "crds", Short: "install the Gateway API CRDs (v1.6.3, the version the suites are built for)"}
	cmd.PersistentFlags().StringVar(&kubeconfig, "kubeconfig", filepath.Join(local.DefaultDir, "kubeconfig"), "kubeconfig of the cluster")
	install := &cobra.Command{
		Use:   "install",
		Short: "apply the CRDs of one channel and wait until they are served",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
			if err != nil {
				return fmt.Errorf("kubeconfig %s: %w", kubeconfig, err)
			}
			n, err := crds.Install(cmd.Context(), cfg, channel)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d Gateway API CRDs (%s channel) established\n", n, channel)
			return nil
		},
	}
	install.Flags().StringVar(&channel, "channel", crds.Experimental, "Gateway API release channel: standard or experimental (XMesh, retries and traffic policies are experimental)")
	cmd.AddCommand(install)
	return cmd
}
