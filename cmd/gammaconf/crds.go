package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"gamma-conformance/harness/crds"
	"gamma-conformance/harness/local"
	"gamma-conformance/harness/providers"
)

func crdsCommand() *cobra.Command {
	var kubeconfig, channel string
	cmd := &cobra.Command{Use: "crds", Short: "install the Gateway API CRDs (v1.6.3, the version the suites are built for)"}
	cmd.PersistentFlags().StringVar(&kubeconfig, "kubeconfig", local.DefaultKubeconfig, "kubeconfig of the cluster")
	install := &cobra.Command{
		Use:   "install",
		Short: "apply the CRDs of one channel and wait until they are served",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := providers.Open(kubeconfig)
			if err != nil {
				return err
			}
			cfg, err := c.RESTConfig()
			if err != nil {
				return err
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
